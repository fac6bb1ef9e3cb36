import { createHmac, timingSafeEqual } from 'node:crypto';

import type { BusMessage } from './bus.js';
import { BusError } from './errors.js';

/**
 * The wire form of bus messages, authenticated (ADR 0012).
 *
 * A message with its event is signed: `{"source","runId","seq","event",...,"sig":"<mac>"}`, where
 * the mac is HMAC-SHA256, under the deployment's key, of the exact bytes of the message without
 * its `sig` (so run id, seq and the event JSON are all covered, and no canonical form is needed).
 * A pointer (`{"source","runId","seq"}`, no event) is not signed: all it can make a subscriber do
 * is read the database, which has only committed events.
 *
 * On receipt, an event is only ever delivered when its mac verifies; any other message that names
 * a run and a seq (unsigned, a bad mac, another deployment's key, a key rotated since) becomes a
 * pointer, so subscribers read the committed event from the database instead of trusting the bus.
 */
export interface MessageCodec {
  /**
   * The payload to send; a pointer when the signed message would reach `maxBytes` (UTF-8), or
   * when this codec has no key (nobody could verify the event).
   */
  encode(message: BusMessage, maxBytes: number): string;
  /** A received payload: a verified message, a pointer, or undefined for anything else. */
  decode(payload: string): BusMessage | undefined;
}

/** Mixed into every mac, so that the key can never authenticate anything but a bus message. */
const CONTEXT = 'runstream.bus.v1\n';
const SIG_OPEN = ',"sig":"';
const SIG_CLOSE = '"}';
/** base64url of 32 bytes, without padding. */
const SIG_LENGTH = 43;
const SIG_SUFFIX_LENGTH = SIG_OPEN.length + SIG_LENGTH + SIG_CLOSE.length;

/**
 * The deployment's key, or where to get it: a process may open its bus before it can read the key
 * (the outbox worker connects to the bus at start and reads the key once its database answers).
 * While there is none, the codec sends and delivers pointers only.
 */
export type SigningKey = Uint8Array | (() => Uint8Array | undefined);

export function createMessageCodec(signingKey: SigningKey | undefined): MessageCodec {
  const currentKey = typeof signingKey === 'function' ? signingKey : () => signingKey;
  const mac = (key: Uint8Array, body: string): Buffer => {
    const hmac = createHmac('sha256', key);
    hmac.update(CONTEXT);
    hmac.update(body);
    return hmac.digest();
  };

  const verified = (payload: string): string | undefined => {
    const key = currentKey();
    if (!key || payload.length <= SIG_SUFFIX_LENGTH || !payload.endsWith(SIG_CLOSE))
      return undefined;
    const at = payload.length - SIG_SUFFIX_LENGTH;
    if (payload.slice(at, at + SIG_OPEN.length) !== SIG_OPEN) return undefined;
    const sig = Buffer.from(payload.slice(at + SIG_OPEN.length, -SIG_CLOSE.length), 'base64url');
    const body = `${payload.slice(0, at)}}`;
    const expected = mac(key, body);
    return sig.length === expected.length && timingSafeEqual(sig, expected) ? body : undefined;
  };

  return {
    encode(message, maxBytes) {
      checkMessage(message);
      const pointer = JSON.stringify({ source: 'outbox', runId: message.runId, seq: message.seq });
      const key = currentKey();
      if (message.event === undefined || !key) return pointer;
      const body = JSON.stringify({
        source: 'outbox',
        runId: message.runId,
        seq: message.seq,
        event: message.event,
      });
      const signed = `${body.slice(0, -1)}${SIG_OPEN}${mac(key, body).toString('base64url')}${SIG_CLOSE}`;
      // Byte length, not string length: NOTIFY and NATS limits count UTF-8 bytes.
      return Buffer.byteLength(signed) < maxBytes ? signed : pointer;
    },

    decode(payload) {
      const body = verified(payload);
      const value = parse(body ?? payload);
      if (!value) return undefined;
      const pointer: BusMessage = { source: 'outbox', runId: value.runId, seq: value.seq };
      if (body === undefined || !isEventOf(value.event, value.runId, value.seq)) return pointer;
      return { ...pointer, event: value.event as BusMessage['event'] };
    },
  };
}

/** Refuses to send what the contract forbids. */
export function checkMessage(message: BusMessage): void {
  if (message.source !== 'outbox' || typeof message.runId !== 'string' || message.runId === '') {
    throw new BusError('INVALID_MESSAGE', 'a bus message needs source "outbox" and a runId');
  }
  if (!Number.isInteger(message.seq) || message.seq < 1) {
    throw new BusError(
      'INVALID_MESSAGE',
      `a bus message needs a positive integer seq (got ${String(message.seq)})`,
    );
  }
  if (
    message.event !== undefined &&
    (message.event.runId !== message.runId || message.event.seq !== message.seq)
  ) {
    throw new BusError(
      'INVALID_MESSAGE',
      'a bus message and its event must name the same run and seq',
    );
  }
}

function parse(payload: string): { runId: string; seq: number; event?: unknown } | undefined {
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const m = value as { source?: unknown; runId?: unknown; seq?: unknown; event?: unknown };
  if (
    m.source !== 'outbox' ||
    typeof m.runId !== 'string' ||
    m.runId === '' ||
    typeof m.seq !== 'number' ||
    !Number.isInteger(m.seq) ||
    m.seq < 1
  )
    return undefined;
  return { runId: m.runId, seq: m.seq, event: m.event };
}

function isEventOf(event: unknown, runId: string, seq: number): boolean {
  if (typeof event !== 'object' || event === null) return false;
  const e = event as { runId?: unknown; seq?: unknown; type?: unknown };
  return e.runId === runId && e.seq === seq && typeof e.type === 'string';
}
