import type { BusMessage } from './bus.js';
import { BusError } from './errors.js';

/** The wire form of a message, and of its pointer (no event) when the whole does not fit. */
export function encodeMessage(message: BusMessage, maxBytes: number): string {
  checkMessage(message);
  const full = JSON.stringify(message);
  // Byte length, not string length: NOTIFY and NATS limits count UTF-8 bytes.
  if (message.event === undefined || Buffer.byteLength(full) < maxBytes) return full;
  return JSON.stringify({ source: 'outbox', runId: message.runId, seq: message.seq });
}

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

/** Parses a received payload; undefined for anything that is not a bus message. */
export function decodeMessage(payload: string): BusMessage | undefined {
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const m = value as Partial<BusMessage>;
  if (
    m.source !== 'outbox' ||
    typeof m.runId !== 'string' ||
    !Number.isInteger(m.seq) ||
    (m.seq ?? 0) < 1
  )
    return undefined;
  return m as BusMessage;
}
