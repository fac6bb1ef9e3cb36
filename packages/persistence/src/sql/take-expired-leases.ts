import { type RunRecord, runColumns } from './run-columns.js';
import { statement } from './statement.js';

/**
 * Takes over up to $2 running runs whose lease expired (their worker died or hung), oldest expiry
 * first, leasing them to worker $1 for $3 ms. Keeps "one writer per run": each run's row is locked
 * (SKIP LOCKED: two takers never take the same run) and its lease_owner changes in this
 * statement, so from its commit on the previous holder's fenced appends (APPEND_EVENTS checks the
 * owner) write nothing. Returns each run with `lostOwner`, the worker that held it.
 *
 * $1 worker id, $2 limit, $3 lease length in ms.
 */
export const TAKE_EXPIRED_LEASES = statement<
  [workerId: string, limit: number, leaseMs: number],
  RunRecord & { lostOwner: string | null }
>(
  'take_expired_leases',
  `
UPDATE runs r
   SET lease_owner = $1::text,
       lease_expires_at = now() + $3::int * interval '1 millisecond', updated_at = now()
  FROM (SELECT id, lease_owner FROM runs
         WHERE status = 'running' AND lease_expires_at < now()
         ORDER BY lease_expires_at LIMIT $2::int
         FOR UPDATE SKIP LOCKED) expired
 WHERE r.id = expired.id
RETURNING ${runColumns('r')}, expired.lease_owner AS "lostOwner"`,
);
