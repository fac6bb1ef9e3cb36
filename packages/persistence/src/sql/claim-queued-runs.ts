import { type RunRecord, runColumns } from './run-columns.js';
import { statement } from './statement.js';

/**
 * Claims up to $2 queued runs for worker $1, leased for $3 ms, fairly across tenants and never
 * more than $4 running runs per tenant. Run it in a transaction right after taking
 * LOCK_CLAIMS, in a statement of its own: the lock serializes claims (across all workers), and
 * a statement that starts after the lock is granted sees every earlier claim committed, so the
 * per-tenant count cannot be raced past the cap (the security review saw one tenant hold every
 * slot). Only a claim moves a run to running; ends and hand-backs only lower the count.
 *
 * Fairness: each tenant with queued runs (walked one index probe per tenant, runs_queued_tenant_graph_idx)
 * offers its oldest queued runs, the k-th ranked (running now + k). Taking the lowest ranks first,
 * oldest first among equals, is a round robin that starts with the tenants running the least: a
 * tenant with a backlog of thousands waits its turn like everyone else, and a newcomer's run takes
 * the next free slot. Queued runs with a cancel request come first and outside the cap: their
 * worker only writes run.cancelled. SKIP LOCKED passes over a queued run another transaction holds
 * (a cancel request being written); the status check after the lock drops one that moved on.
 *
 * Graphs (ADR 0021): the worker serves the graphs $5 (names) at versions $6 (aligned; NULL: any
 * version), and claims queued runs of those only, so a run of a graph it lacks waits for a worker
 * that has it instead of failing. Each tenant's oldest runs are walked per served graph
 * (runs_queued_tenant_graph_idx), then merged by age. A run checked against another version of
 * its graph is left to the workers of that version while one of them is live (its registration's
 * live_until is ahead): during a rolling deploy, an input only the new version accepts never meets
 * an old worker. A run of a version nobody serves any more is anyone's, and its worker re-checks the
 * input. Runs with a cancel request are claimed whatever their graph: their worker runs no graph code.
 *
 * Keeps "a run is executed once": its status changes to running in the statement that claims it.
 */
export const CLAIM_QUEUED_RUNS = statement<
  [
    workerId: string,
    limit: number,
    leaseMs: number,
    tenantMaxRunning: number,
    graphs: string[],
    versions: (string | null)[],
  ],
  RunRecord
>(
  'claim_queued_runs',
  `
WITH RECURSIVE served AS (
  SELECT DISTINCT ON (graph) graph, version
    FROM unnest($5::text[], $6::text[]) AS s(graph, version) ORDER BY graph
), tenants AS (
  (SELECT tenant FROM runs WHERE status = 'queued' ORDER BY tenant LIMIT 1)
  UNION ALL
  SELECT (SELECT r.tenant FROM runs r WHERE r.status = 'queued' AND r.tenant > t.tenant
           ORDER BY r.tenant LIMIT 1)
    FROM tenants t WHERE t.tenant IS NOT NULL
), fair AS (
  SELECT q.id, running.n + q.rn AS rank
    FROM tenants t
   CROSS JOIN LATERAL (
         SELECT count(*)::int AS n FROM (
           SELECT 1 FROM runs WHERE status = 'running' AND tenant = t.tenant LIMIT $4::int) capped
       ) running
   CROSS JOIN LATERAL (
         SELECT id, row_number() OVER (ORDER BY id)::int AS rn FROM (
           SELECT o.id FROM served s
            CROSS JOIN LATERAL (
                  SELECT r.id FROM runs r
                   WHERE r.status = 'queued' AND r.tenant = t.tenant AND r.graph = s.graph
                     AND r.cancel_requested_at IS NULL
                     AND (s.version IS NULL OR r.graph_version IS NULL OR r.graph_version = s.version
                          OR NOT EXISTS (
                               SELECT 1 FROM graph_registrations g
                                WHERE g.name = r.graph AND g.version = r.graph_version
                                  AND g.live_until > now()))
                   ORDER BY r.id LIMIT $2::int) o
            ORDER BY o.id LIMIT $2::int) oldest
       ) q
   WHERE t.tenant IS NOT NULL AND q.rn <= $4::int - running.n
), cancelled AS (
  SELECT id, 0 AS rank FROM runs
   WHERE status = 'queued' AND cancel_requested_at IS NOT NULL ORDER BY id LIMIT $2::int
), candidates AS (
  SELECT id FROM (SELECT id, rank FROM cancelled UNION ALL SELECT id, rank FROM fair) c
   ORDER BY rank, id LIMIT $2::int
), locked AS (
  SELECT id FROM runs WHERE id IN (SELECT id FROM candidates) AND status = 'queued'
     FOR UPDATE SKIP LOCKED
)
UPDATE runs r
   SET status = 'running', lease_owner = $1::text,
       lease_expires_at = now() + $3::int * interval '1 millisecond',
       started_at = COALESCE(r.started_at, now()), updated_at = now()
  FROM locked
 WHERE r.id = locked.id
RETURNING ${runColumns('r')}`,
);

/** Taken before CLAIM_QUEUED_RUNS, in the same transaction; released at its end. */
export const LOCK_CLAIMS = statement<[]>(
  'lock_claims',
  `SELECT pg_advisory_xact_lock(hashtextextended('runstream.claim', 0))`,
);
