import { type RunRecord, runColumns } from './run-columns.js';
import { statement } from './statement.js';

/**
 * Serialises one tenant's creates under a quota: taken in the create's transaction, in a statement
 * of its own before INSERT_RUN, so that the insert (a new statement, so a new snapshot under READ
 * COMMITTED) counts every queued run committed before it, and no other create of the tenant can
 * commit between that count and its own commit. The class id (first key) is a constant no other
 * advisory lock user of the database shares; the second key is hashtext(tenant).
 *
 * $1 tenant.
 */
export const LOCK_TENANT_QUOTA = statement<[tenant: string]>(
  'lock_tenant_quota',
  `SELECT pg_advisory_xact_lock(${0x52535154}::int, hashtext($1::text))`,
);

/**
 * Inserts a run, queued, with no event yet (next_seq 1): the create's transaction appends its first
 * event, run.queued, with APPEND_EVENTS right after, so that a created run always has an event and
 * every event of every run is written by that one statement. Keeps "one run per (tenant,
 * idempotency key)": a taken key inserts nothing (ON CONFLICT DO NOTHING; a conflicting row
 * committed before this statement ended, so the caller's next read sees it). With $7 (the quota)
 * it inserts only while the tenant has fewer than $7 queued runs, counted in this statement's
 * snapshot (the caller holds LOCK_TENANT_QUOTA), and the count stops at the quota, so a tenant with
 * a long queue costs no more than a full one.
 *
 * $1 id, $2 tenant, $3 graph, $4 graph version or NULL, $5 input JSON, $6 idempotency key or NULL,
 * $7 quota (most queued runs) or NULL for none.
 * Returns one row whatever happened: the run it created (all columns NULL when it created none)
 * and `underQuota`, whether the tenant had room. Read in the insert's own snapshot, the room tells
 * a full quota from a taken key; a count in a later statement could see a run claimed since, and
 * blame the key.
 */
export const INSERT_RUN = statement<
  [
    id: string,
    tenant: string,
    graph: string,
    graphVersion: string | null,
    input: string,
    idempotencyKey: string | null,
    maxQueued: number | null,
  ],
  InsertRunOutcome
>(
  'insert_run',
  `
WITH quota AS (
  SELECT $7::int IS NULL
         OR (SELECT count(*) FROM (SELECT 1 FROM runs WHERE tenant = $2::text AND status = 'queued'
                                    LIMIT $7::int) queued) < $7::int AS room
), run AS (
  INSERT INTO runs (id, tenant, graph, graph_version, input, idempotency_key)
  SELECT $1::uuid, $2::text, $3::text, $4::text, $5::jsonb, $6::text
    FROM quota
   WHERE quota.room
  ON CONFLICT (tenant, idempotency_key) DO NOTHING
  RETURNING ${runColumns()}
)
SELECT run.*, quota.room AS "underQuota" FROM quota LEFT JOIN run ON TRUE`,
);

/** What INSERT_RUN answers: the run it created, or nulls; and whether there was room. */
export type InsertRunOutcome = { underQuota: boolean } & (
  RunRecord | { [K in keyof RunRecord]: null }
);
