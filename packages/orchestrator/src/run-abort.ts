/** Why a worker aborted a run's signal. */
export type RunAbortCode = 'CANCEL_REQUESTED' | 'SHUTDOWN' | 'LEASE_LOST';

/**
 * The reason a worker gives its AbortController. `CANCEL_REQUESTED` and `SHUTDOWN` end the run with
 * run.cancelled; `LEASE_LOST` writes nothing more, since another worker now owns the run's end.
 */
export class RunAbort extends Error {
  override readonly name = 'RunAbort';

  constructor(
    readonly code: RunAbortCode,
    message: string,
  ) {
    super(message);
  }
}
