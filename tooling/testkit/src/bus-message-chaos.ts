import type { ChunkFilter } from './tcp-proxy.js';

/** One complete server-to-client protocol message, and whether it carries a bus message. */
export interface Frame {
  bytes: Buffer;
  busMessage: boolean;
}

/** Splits a server-to-client byte stream into whole frames; returns them and keeps the rest. */
export type Framer = (pending: Buffer) => { frames: Frame[]; rest: Buffer };

/**
 * PostgreSQL backend messages: a type byte and an int32 length that counts itself. `A` is
 * NotificationResponse, which is how LISTEN delivers a NOTIFY (the postgres bus's messages).
 */
export const postgresFramer: Framer = (pending) => {
  const frames: Frame[] = [];
  let offset = 0;
  while (pending.length - offset >= 5) {
    const length = pending.readInt32BE(offset + 1);
    if (pending.length - offset < 1 + length) break;
    frames.push({
      bytes: pending.subarray(offset, offset + 1 + length),
      busMessage: pending[offset] === 0x41,
    });
    offset += 1 + length;
  }
  return { frames, rest: pending.subarray(offset) };
};

const CRLF = Buffer.from('\r\n');

/**
 * NATS server operations are CRLF-terminated lines; `MSG ... <bytes>` and `HMSG ... <total bytes>`
 * are followed by that many payload bytes and a CRLF. Only messages on `subjectPrefix` count as
 * bus messages, so the client's own request/inbox traffic is never touched.
 */
export function natsFramer(subjectPrefix = 'runstream.runs.'): Framer {
  return (pending) => {
    const frames: Frame[] = [];
    let offset = 0;
    for (;;) {
      const eol = pending.indexOf(CRLF, offset);
      if (eol < 0) break;
      const line = pending.subarray(offset, eol).toString('latin1');
      let end = eol + 2;
      let busMessage = false;
      if (line.startsWith('MSG ') || line.startsWith('HMSG ')) {
        const parts = line.split(' ');
        end += Number(parts[parts.length - 1]) + 2;
        busMessage = (parts[1] ?? '').startsWith(subjectPrefix);
      }
      if (end > pending.length) break;
      frames.push({ bytes: pending.subarray(offset, end), busMessage });
      offset = end;
    }
    return { frames, rest: pending.subarray(offset) };
  };
}

/**
 * A per-connection filter that cuts the byte stream into whole frames and forwards, for each, what
 * `decide` returns (the frame, nothing, or it twice). A partial frame waits for the rest of its bytes.
 */
export function frameFilter(
  framer: Framer,
  decide: (frame: Frame) => readonly Buffer[],
): () => ChunkFilter {
  return () => {
    let pending = Buffer.alloc(0);
    return (chunk) => {
      const { frames, rest } = framer(pending.length ? Buffer.concat([pending, chunk]) : chunk);
      // A copy, so the tail does not pin the whole chunk it was cut from.
      pending = Buffer.from(rest);
      return Buffer.concat(frames.flatMap(decide));
    };
  };
}

export interface BusMessageChaosRates {
  /** Share of bus messages dropped, 0..1. */
  drop: number;
  /** Share of bus messages delivered twice, 0..1. */
  duplicate: number;
}

export interface BusMessageChaosCounters {
  busMessages: number;
  dropped: number;
  duplicated: number;
}

/**
 * Drops and repeats whole bus messages on their way from the server to a consumer, at rates that
 * may change at any time, passing every other protocol message as it is. Give `filter` to a
 * `startTcpProxy` as `filter.toClient`.
 */
export interface BusMessageChaos {
  readonly rates: BusMessageChaosRates;
  readonly counters: BusMessageChaosCounters;
  readonly filter: () => ChunkFilter;
}

export interface BusMessageChaosOptions {
  /** The protocol between the consumer and the server: PostgreSQL (LISTEN) or NATS. */
  protocol: 'postgres' | 'nats';
  /** Decides which messages are dropped or repeated; a seeded one makes a run replayable. @default Math.random */
  random?: () => number;
  /** NATS subjects that carry bus messages. @default 'runstream.runs.' */
  subjectPrefix?: string;
}

export function createBusMessageChaos(options: BusMessageChaosOptions): BusMessageChaos {
  const random = options.random ?? Math.random;
  const rates: BusMessageChaosRates = { drop: 0, duplicate: 0 };
  const counters: BusMessageChaosCounters = { busMessages: 0, dropped: 0, duplicated: 0 };
  const framer =
    options.protocol === 'postgres' ? postgresFramer : natsFramer(options.subjectPrefix);
  const filter = frameFilter(framer, (frame) => {
    if (!frame.busMessage) return [frame.bytes];
    counters.busMessages++;
    if (random() < rates.drop) {
      counters.dropped++;
      return [];
    }
    if (random() < rates.duplicate) {
      counters.duplicated++;
      return [frame.bytes, frame.bytes];
    }
    return [frame.bytes];
  });
  return { rates, counters, filter };
}
