import { statement } from './statement.js';

/**
 * Hands runs a worker claimed but will not execute (it is stopping) back to the queue: queued
 * again, lease and start time cleared, as if never claimed. Keeps "a run is executed once": only
 * runs still leased to this worker and still running (no event of its execution can exist yet
 * elsewhere) are touched, under their row locks, so a run another worker took over stays its.
 *
 * $1 run ids, $2 worker id. Returns the ids handed back.
 */
export const RELEASE_CLAIMED_RUNS = statement<[runIds: string[], workerId: string], { id: string }>(
  'release_claimed_runs',
  `
UPDATE runs
   SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL, started_at = NULL,
       updated_at = now()
 WHERE id = ANY($1::uuid[]) AND lease_owner = $2::text
   AND status = 'running' AND finished_at IS NULL
RETURNING id`,
);
