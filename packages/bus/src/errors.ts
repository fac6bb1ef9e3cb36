/** Codes of the errors a bus raises. */
export type BusErrorCode =
  /** The transport does not answer now (broker or database down, connection lost): retry later. */
  | 'BUS_UNAVAILABLE'
  /** The bus was closed by its owner. */
  | 'BUS_CLOSED'
  /** A message that the contract forbids (no runId, a seq that is not a positive integer, ...). */
  | 'INVALID_MESSAGE'
  /** The transport refused this publish for another reason. */
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

/** Whether a publish may succeed as it is once the transport is back (nothing wrong with the messages). */
export function isTransient(error: unknown): boolean {
  return (
    error instanceof BusError && (error.code === 'BUS_UNAVAILABLE' || error.code === 'BUS_CLOSED')
  );
}
