import { MAX_SEQ } from '@runstream/persistence';

export { MAX_SEQ };

export type StartPointErrorCode = 'INVALID_START_POINT';

/** A start point that is not a non-negative integer; the transport answers 400 before any frame. */
export class StartPointError extends Error {
  override readonly name = 'StartPointError';
  readonly code: StartPointErrorCode = 'INVALID_START_POINT';

  constructor(
    readonly field: 'Last-Event-ID' | 'fromSeq',
    readonly value: string,
  ) {
    super(`${field} must be a whole number from 0 to ${MAX_SEQ}`);
  }
}

export interface StartPointInput {
  /** The `Last-Event-ID` header: the last seq the client has (exclusive start). */
  lastEventId?: string | undefined;
  /** The `fromSeq` query parameter: the first seq to send (inclusive start). */
  fromSeq?: string | undefined;
}

/**
 * The seq after which a stream starts. `Last-Event-ID` wins over `fromSeq` because it is what a
 * reconnecting EventSource sends, and it is exclusive while `fromSeq` is inclusive: mixing the two
 * up is the classic off-by-one that duplicates or skips the event at the seam.
 */
export function resolveStartPoint(input: StartPointInput): number {
  if (input.lastEventId !== undefined && input.lastEventId.trim() !== '') {
    return parseSeq('Last-Event-ID', input.lastEventId.trim());
  }
  if (input.fromSeq !== undefined) {
    return Math.max(0, parseSeq('fromSeq', input.fromSeq) - 1);
  }
  return 0;
}

function parseSeq(field: 'Last-Event-ID' | 'fromSeq', value: string): number {
  // Digits only: Number() would accept '1e3', '0x10', ' 7' and '1.0', none of which is a seq.
  if (!/^\d{1,10}$/.test(value)) throw new StartPointError(field, value);
  const n = Number(value);
  if (n > MAX_SEQ) throw new StartPointError(field, value);
  return n;
}
