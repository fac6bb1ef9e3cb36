/** Codes of the errors a bus raises. */
export type BusErrorCode =
  /**
   * The transport does not work now, for every message alike (broker or database down, a
   * connection reset, a server that cancels or refuses every statement): retry later.
   */
  | 'BUS_UNAVAILABLE'
  /**
   * The transport did not confirm a publish in time (a slow link, an overloaded server). Bus-wide
   * like BUS_UNAVAILABLE, but a smaller publish may go through where this one did not.
   */
  | 'PUBLISH_TIMEOUT'
  /** The bus was closed by its owner. */
  | 'BUS_CLOSED'
  /** A message that the contract forbids (no runId, a seq that is not a positive integer, ...). */
  | 'INVALID_MESSAGE'
  /** The transport refused these messages for what they hold (the same messages would fail again). */
  | 'PUBLISH_FAILED';

export class BusError extends Error {
  override readonly name = 'BusError';

  constructor(
    readonly code: BusErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Whose fault a failed publish is:
 * - `message`: something in the messages themselves (INVALID_MESSAGE, PUBLISH_FAILED). Only this
 *   may count against a run: the same message would fail again, wherever it is sent from.
 * - `bus`: everything else, including errors that are not a BusError at all. The transport, the
 *   network or the server fails every message alike; counting that against the runs in flight
 *   would park all of them during an outage (review A1), so the publisher backs off and retries.
 */
export function failureScope(error: unknown): 'message' | 'bus' {
  return error instanceof BusError &&
    (error.code === 'INVALID_MESSAGE' || error.code === 'PUBLISH_FAILED')
    ? 'message'
    : 'bus';
}

/** Whether a publish may succeed as it is once the transport is back (nothing wrong with the messages). */
export function isTransient(error: unknown): boolean {
  return failureScope(error) === 'bus';
}
