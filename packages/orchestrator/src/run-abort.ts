/** Why a worker aborted a run's signal. */
export type RunAbortCode = 'CANCEL_REQUESTED' | 'SHUTDOWN' | 'LEASE_LOST';

/**
 * The reason a worker gives its AbortController. `CANCEL_REQUESTED` ends the run with
 * run.cancelled; `SHUTDOWN` (the worker stops and the run did not finish within the drain time)
 * with run.failed `WORKER_SHUTDOWN`; `LEASE_LOST` writes nothing more, since another worker now
 * owns the run's end. A run over its wall-time limit is aborted with a RunLimitError instead.
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
