import { statement } from './statement.js';

/**
 * Extends the leases a worker still holds among the given runs by $3 ms from now, and reports for
 * each whether a cancel was requested. Keeps the lease's meaning: only a run whose lease_owner is
 * still this worker and that has not ended is extended, so a run taken over (its lease expired)
 * is never handed back to a worker that lost it; such a run is missing from the answer.
 *
 * $1 run ids, $2 worker id, $3 lease length in ms.
 */
export const RENEW_LEASES = statement<
  [runIds: string[], workerId: string, leaseMs: number],
  { id: string; cancelRequested: boolean }
>(
  'renew_leases',
  `
UPDATE runs
   SET lease_expires_at = now() + $3::int * interval '1 millisecond'
 WHERE id = ANY($1::uuid[]) AND lease_owner = $2::text AND finished_at IS NULL
RETURNING id, cancel_requested_at IS NOT NULL AS "cancelRequested"`,
);
