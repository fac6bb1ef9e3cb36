import { type RunRecord, runColumns } from './run-columns.js';
import { statement } from './statement.js';

/**
 * Records a cancel request on a tenant's run that has not ended. Idempotent: the first request's
 * time is kept. Keeps "an ended run stays as it ended": a finished run is not touched (no row;
 * the caller then tells a missing run from an ended one). The run-worker sees the request and ends
 * the run with run.cancelled; this statement writes no event.
 *
 * $1 tenant, $2 run id. Returns the run, or no row.
 */
export const REQUEST_CANCEL = statement<[tenant: string, runId: string], RunRecord>(
  'request_cancel',
  `
UPDATE runs
   SET cancel_requested_at = COALESCE(cancel_requested_at, now()), updated_at = now()
 WHERE id = $2::uuid AND tenant = $1::text AND finished_at IS NULL
RETURNING ${runColumns()}`,
);
