import type { Db } from './database.js';
import { Prisma } from './generated/prisma/client.js';
import type { RunRecord } from './run-repo.js';
import { CLAIM_LOCK_SQL, CLAIM_QUEUED_RUNS_SQL } from './sql/claim-queued-runs.js';

/** A graph a worker can execute: its name, and the version it serves. */
export interface ServedGraph {
  name: string;
  /**
   * The version (registration) the worker serves; runs checked against another version that a
   * live worker serves are left to that worker. Absent: the worker takes runs of any version.
   */
  version?: string | undefined;
}

export interface ClaimQueuedOptions {
  /**
   * The graphs the worker serves: it claims runs of these only (a queued run with a cancel request
   * excepted, whatever its graph: the worker only ends it with run.cancelled). Empty: no run but
   * those.
   */
  graphs: readonly ServedGraph[];
  /** Runs to claim at most (the worker's free slots). */
  limit: number;
  /** Lease length in milliseconds. */
  leaseMs: number;
  /**
   * Runs of one tenant running at once, over all workers: a claim never takes a tenant past it.
   * @default 16
   */
  tenantMaxRunning?: number;
}

export interface RunLeaseRepoDeps {
  prisma: Db;
}

export type RunLeaseRepo = ReturnType<typeof createRunLeaseRepo>;

/** A run taken over from a worker whose lease expired; `lostOwner` held it before. */
export type TakenRun = RunRecord & { lostOwner: string | null };

/**
 * The lease protocol of the run-workers: claim queued runs, renew what a worker holds, hand back
 * what it will not execute, and take over runs whose worker stopped renewing. A lease is
 * `lease_owner` plus `lease_expires_at`; the append statement checks the owner (its fence), so a
 * worker that lost a run can no longer write to it.
 */
export function createRunLeaseRepo({ prisma }: RunLeaseRepoDeps) {
  return {
    /**
     * Claims up to `limit` queued runs of the graphs the worker serves for `workerId` and leases
     * them for `leaseMs`: fairly across tenants, and never past `tenantMaxRunning` running runs of
     * one tenant (see CLAIM_QUEUED_RUNS_SQL). The status change commits with the claim, so a run is claimed (and
     * executed) once. Queued runs with a cancel request are claimed first: the worker ends them
     * with run.cancelled. Runs in the caller's transaction when given `tx`, else in its own.
     */
    async claimQueued(
      workerId: string,
      options: ClaimQueuedOptions,
      tx?: Db,
    ): Promise<RunRecord[]> {
      const params = [
        workerId,
        options.limit,
        options.leaseMs,
        options.tenantMaxRunning ?? 16,
        options.graphs.map((g) => g.name),
        options.graphs.map((g) => g.version ?? null),
      ];
      const claim = async (db: Db): Promise<RunRecord[]> => {
        // Its own statement, so that the claim's snapshot is taken after the lock is granted.
        await db.$executeRawUnsafe(CLAIM_LOCK_SQL);
        return db.$queryRawUnsafe<RunRecord[]>(CLAIM_QUEUED_RUNS_SQL, ...params);
      };
      const rows = tx !== undefined ? await claim(tx) : await prisma.$transaction(claim);
      return rows.sort((a, b) => (a.id < b.id ? -1 : 1));
    },

    /**
     * Hands runs this worker claimed but will not execute (it is stopping) back to the queue:
     * queued again, lease and start time cleared, as if never claimed. Only runs that are still
     * this worker's and still running are touched. Returns the ids handed back.
     */
    async releaseClaimed(workerId: string, runIds: readonly string[], tx?: Db): Promise<string[]> {
      if (runIds.length === 0) return [];
      const rows = await (tx ?? prisma).$queryRaw<{ id: string }[]>`
        UPDATE runs
           SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL, started_at = NULL,
               updated_at = now()
         WHERE id = ANY(${[...runIds]}::uuid[]) AND lease_owner = ${workerId}
           AND status = 'running' AND finished_at IS NULL
        RETURNING id`;
      return rows.map((r) => r.id);
    },

    /**
     * Extends the leases `workerId` still holds among `runIds` and reports, for each, whether a
     * cancel was requested. A run missing from the answer is no longer this worker's: it ended,
     * or its lease expired and another worker took it over.
     */
    async renewLeases(
      workerId: string,
      runIds: readonly string[],
      leaseMs: number,
      tx?: Db,
    ): Promise<{ id: string; cancelRequested: boolean }[]> {
      if (runIds.length === 0) return [];
      return (tx ?? prisma).$queryRaw<{ id: string; cancelRequested: boolean }[]>`
        UPDATE runs
           SET lease_expires_at = now() + ${leaseMs}::int * interval '1 millisecond'
         WHERE id = ANY(${[...runIds]}::uuid[]) AND lease_owner = ${workerId} AND finished_at IS NULL
        RETURNING id, cancel_requested_at IS NOT NULL AS "cancelRequested"`;
    },

    /** Which of these unfinished runs have a cancel request: a read, cheap enough to poll often. */
    async cancelRequested(runIds: readonly string[], tx?: Db): Promise<string[]> {
      if (runIds.length === 0) return [];
      const rows = await (tx ?? prisma).$queryRaw<{ id: string }[]>`
        SELECT id FROM runs
         WHERE id = ANY(${[...runIds]}::uuid[]) AND cancel_requested_at IS NOT NULL AND finished_at IS NULL`;
      return rows.map((r) => r.id);
    },

    /**
     * Takes over up to `limit` running runs whose lease expired (their worker died or hung), leasing
     * them to `workerId` for `leaseMs` so that one worker ends each. `lostOwner` is the previous
     * holder. From this statement on, the previous holder's fenced appends write nothing. If the
     * taker dies before ending a run, that lease expires in turn.
     */
    async takeExpiredLeases(
      workerId: string,
      limit: number,
      leaseMs: number,
      tx?: Db,
    ): Promise<TakenRun[]> {
      return (tx ?? prisma).$queryRaw<TakenRun[]>`
        UPDATE runs r
           SET lease_owner = ${workerId},
               lease_expires_at = now() + ${leaseMs}::int * interval '1 millisecond', updated_at = now()
          FROM (SELECT id, lease_owner FROM runs
                 WHERE status = 'running' AND lease_expires_at < now()
                 ORDER BY lease_expires_at LIMIT ${limit}::int
                 FOR UPDATE SKIP LOCKED) expired
         WHERE r.id = expired.id
        RETURNING ${RUN_COLUMNS_OF_R}, expired.lease_owner AS "lostOwner"`;
    },
  };
}

/** The columns of `runs r`, aliased to the Prisma field names, for RETURNING lists of joins. */
const RUN_COLUMNS_OF_R = Prisma.raw(`
  r.id, r.tenant, r.graph, r.graph_version AS "graphVersion", r.input, r.status, r.next_seq AS "nextSeq", r.idempotency_key AS "idempotencyKey",
  r.lease_owner AS "leaseOwner", r.lease_expires_at AS "leaseExpiresAt",
  r.cancel_requested_at AS "cancelRequestedAt", r.output, r.error, r.created_at AS "createdAt",
  r.updated_at AS "updatedAt", r.started_at AS "startedAt", r.finished_at AS "finishedAt"`);
