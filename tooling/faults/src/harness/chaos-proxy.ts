import { type Server, type Socket, createServer, connect } from 'node:net';

import { freePort } from './wait.js';

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

export interface ChaosRates {
  /** Share of bus messages dropped, 0..1. */
  drop: number;
  /** Share of bus messages delivered twice, 0..1. */
  duplicate: number;
}

export interface ChaosCounters {
  connections: number;
  busMessages: number;
  dropped: number;
  duplicated: number;
  cuts: number;
}

/**
 * A TCP proxy in front of the bus's server, on the consumer's side only: the product is unchanged,
 * it just connects here. It drops and repeats bus messages at the given rates, and can cut every
 * connection at once (what a network partition or a proxy restart does).
 */
export interface ChaosProxy {
  port: number;
  rates: ChaosRates;
  readonly counters: ChaosCounters;
  /** Destroys every open connection through the proxy; new ones are accepted at once. */
  cutAll(): number;
  close(): Promise<void>;
}

export async function startChaosProxy(options: {
  targetPort: number;
  framer: Framer;
  random: () => number;
}): Promise<ChaosProxy> {
  const port = await freePort();
  const rates: ChaosRates = { drop: 0, duplicate: 0 };
  const counters: ChaosCounters = {
    connections: 0,
    busMessages: 0,
    dropped: 0,
    duplicated: 0,
    cuts: 0,
  };
  const open = new Set<Socket>();
  const server: Server = createServer((client) => {
    counters.connections++;
    const upstream = connect({ host: '127.0.0.1', port: options.targetPort });
    open.add(client);
    open.add(upstream);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    let pending = Buffer.alloc(0);
    upstream.on('data', (chunk: Buffer) => {
      const { frames, rest } = options.framer(
        pending.length ? Buffer.concat([pending, chunk]) : chunk,
      );
      pending = Buffer.from(rest);
      const out: Buffer[] = [];
      for (const frame of frames) {
        if (!frame.busMessage) {
          out.push(frame.bytes);
          continue;
        }
        counters.busMessages++;
        if (options.random() < rates.drop) {
          counters.dropped++;
          continue;
        }
        out.push(frame.bytes);
        if (options.random() < rates.duplicate) {
          counters.duplicated++;
          out.push(frame.bytes);
        }
      }
      if (out.length > 0 && !client.write(Buffer.concat(out))) {
        upstream.pause();
        client.once('drain', () => upstream.resume());
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    port,
    rates,
    counters,
    cutAll() {
      const n = open.size / 2;
      for (const socket of open) socket.destroy();
      open.clear();
      counters.cuts++;
      return n;
    },
    async close() {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
