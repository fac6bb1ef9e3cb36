import {
  type Database,
  type Queryable,
  type TransactionClient,
  query,
  transaction,
} from './database.js';
import { CLAIM_QUEUED_RUNS, LOCK_CLAIMS } from './sql/claim-queued-runs.js';
import { READ_CANCEL_REQUESTS } from './sql/read-cancel-requests.js';
import { RELEASE_CLAIMED_RUNS } from './sql/release-claimed-runs.js';
import { RENEW_LEASES } from './sql/renew-leases.js';
import type { RunRecord } from './sql/run-columns.js';
import { TAKE_EXPIRED_LEASES } from './sql/take-expired-leases.js';

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

/** Where the repository runs its statements when a call is given no `tx`: the process's pool. */
export type RunLeaseRepoDeps = Pick<Database, 'pool'>;

export type RunLeaseRepo = ReturnType<typeof createRunLeaseRepo>;

/** A run taken over from a worker whose lease expired; `lostOwner` held it before. */
export type TakenRun = RunRecord & { lostOwner: string | null };

/**
 * The lease protocol of the run-workers: claim queued runs, renew what a worker holds, hand back
 * what it will not execute, and take over runs whose worker stopped renewing. A lease is
 * `lease_owner` plus `lease_expires_at`; the append statement checks the owner (its fence), so a
 * worker that lost a run can no longer write to it.
 */
export function createRunLeaseRepo({ pool }: RunLeaseRepoDeps) {
  return {
    /**
     * Claims up to `limit` queued runs of the graphs the worker serves for `workerId` and leases
     * them for `leaseMs`: fairly across tenants, and never past `tenantMaxRunning` running runs of
     * one tenant (see CLAIM_QUEUED_RUNS). The status change commits with the claim, so a run is claimed (and
     * executed) once. Queued runs with a cancel request are claimed first: the worker ends them
     * with run.cancelled. Runs in the caller's transaction when given `tx`, else in its own.
     */
    async claimQueued(
      workerId: string,
      options: ClaimQueuedOptions,
      tx?: TransactionClient,
    ): Promise<RunRecord[]> {
      const claim = async (db: TransactionClient): Promise<RunRecord[]> => {
        // Its own statement, so that the claim's snapshot is taken after the lock is granted.
        await query(db, LOCK_CLAIMS, []);
        return query(db, CLAIM_QUEUED_RUNS, [
          workerId,
          options.limit,
          options.leaseMs,
          options.tenantMaxRunning ?? 16,
          options.graphs.map((g) => g.name),
          options.graphs.map((g) => g.version ?? null),
        ]);
      };
      const rows = tx !== undefined ? await claim(tx) : await transaction(pool, claim);
      return rows.sort((a, b) => (a.id < b.id ? -1 : 1));
    },

    /**
     * Hands runs this worker claimed but will not execute (it is stopping) back to the queue:
     * queued again, lease and start time cleared, as if never claimed. Only runs that are still
     * this worker's and still running are touched. Returns the ids handed back.
     */
    async releaseClaimed(
      workerId: string,
      runIds: readonly string[],
      tx?: Queryable,
    ): Promise<string[]> {
      if (runIds.length === 0) return [];
      const rows = await query(tx ?? pool, RELEASE_CLAIMED_RUNS, [[...runIds], workerId]);
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
      tx?: Queryable,
    ): Promise<{ id: string; cancelRequested: boolean }[]> {
      if (runIds.length === 0) return [];
      return query(tx ?? pool, RENEW_LEASES, [[...runIds], workerId, leaseMs]);
    },

    /** Which of these unfinished runs have a cancel request: a read, cheap enough to poll often. */
    async cancelRequested(runIds: readonly string[], tx?: Queryable): Promise<string[]> {
      if (runIds.length === 0) return [];
      const rows = await query(tx ?? pool, READ_CANCEL_REQUESTS, [[...runIds]]);
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
      tx?: Queryable,
    ): Promise<TakenRun[]> {
      return query(tx ?? pool, TAKE_EXPIRED_LEASES, [workerId, limit, leaseMs]);
    },
  };
}
