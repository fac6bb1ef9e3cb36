import type pg from 'pg';

import {
  type Database,
  type Queryable,
  type TransactionClient,
  execute,
  executeCommand,
  query,
} from './database.js';
import { isRunId } from './ids.js';
import { type EventRow, MAX_SEQ } from './run-event-repo.js';
import { CLAIM_OUTBOX, type ClaimRow } from './sql/claim-outbox.js';
import { DELETE_PUBLISHED_OUTBOX } from './sql/delete-published-outbox.js';
import { COUNT_PARKED_RUNS, LIST_PARKED_RUNS } from './sql/list-parked-runs.js';
import { MARK_PUBLISHED } from './sql/mark-published.js';
import { READ_OUTBOX_LAG } from './sql/read-outbox-lag.js';
import { RECORD_PUBLISH_FAILURE } from './sql/record-publish-failure.js';
import { UNPARK_ALL_RUNS, UNPARK_RUN } from './sql/unpark-runs.js';

/** One run's rows, in seq order, up to its first missing event (nothing after it may go out). */
function groupByRun(rows: readonly ClaimRow[]): ClaimedRun[] {
  const byRun = new Map<string, ClaimedRun>();
  for (const row of rows) {
    let run = byRun.get(row.runId);
    if (!run) byRun.set(row.runId, (run = { runId: row.runId, events: [] }));
    if (run.missingSeq !== undefined) continue;
    if (row.type === null) run.missingSeq = row.seq;
    else run.events.push(row as EventRow);
  }
  return [...byRun.values()];
}

const DEFAULT_CLAIM_BYTES = 4 * 1024 * 1024;

export interface ClaimOptions {
  /** Runs to claim at once. @default 32 */
  maxRuns?: number;
  /** Unpublished events to read per claimed run. @default 500 */
  maxEventsPerRun?: number;
  /**
   * Bytes of event data (as JSON text) in the whole claim, shared round robin across its runs.
   * Each run's first event is claimed whatever its size, so 0 claims one event per run.
   * @default 4194304 (4 MiB)
   */
  maxBytes?: number;
}

/** One claimed run with its next unpublished events, in seq order. */
export interface ClaimedRun {
  runId: string;
  /** The events to publish; empty when the run's head event is missing. */
  events: EventRow[];
  /**
   * The seq right after `events` whose event row does not exist (an orphan outbox row). It can
   * never be published: the run must stop there and be parked.
   */
  missingSeq?: number;
}

/** A run the outbox worker parked: its head outbox row. */
export interface ParkedRun {
  runId: string;
  /** The seq it stopped at (nothing from it on is published). */
  seq: number;
  attempts: number;
  lastError: string | null;
  parkedAt: Date;
}

/** Where the repository runs its statements when a call is given no `tx`: the process's pool. */
export type OutboxRepoDeps = Pick<Database, 'pool'>;

/** Where the outbox's statements run (an alias of the package's Queryable). */
export type OutboxQueryable = Queryable;

export type OutboxRepo = ReturnType<typeof createOutboxRepo>;

export function createOutboxRepo({ pool }: OutboxRepoDeps) {
  return {
    /**
     * Claims runs that have unpublished events and reads each one's next events, in one statement.
     * Must run inside a transaction (`tx`): the claim is the row lock on each run's head outbox row
     * (its lowest unpublished seq), taken with SKIP LOCKED, so one run is held by one replica at a
     * time and its events are published in seq order. Other rows of a held run are never claimed
     * by anyone else, since only a head row qualifies. The lock is released at commit, at rollback,
     * or when the holder's connection dies. Parked runs are skipped.
     */
    async claim(tx: TransactionClient, options: ClaimOptions = {}): Promise<ClaimedRun[]> {
      return groupByRun(await query(tx, CLAIM_OUTBOX, claimLimits(options)));
    },

    /**
     * Opens a transaction on a raw pg client and claims in the same round trip (BEGIN, a local
     * statement timeout and the claim as one simple-protocol query, the numbers inlined): the
     * first publish of a wake-up is one round trip sooner. The caller commits or rolls back.
     */
    async beginAndClaim(
      client: TransactionClient,
      options: ClaimOptions & { statementTimeoutMs?: number } = {},
    ): Promise<ClaimedRun[]> {
      const timeout = options.statementTimeoutMs ?? 5000;
      if (!Number.isSafeInteger(timeout) || timeout < 0)
        throw new RangeError('statementTimeoutMs must be a non-negative integer');
      const claim = await executeCommand(client, CLAIM_OUTBOX, claimLimits(options));
      const results = (await client.query(
        `BEGIN; SET LOCAL statement_timeout = ${timeout}; ${claim}`,
      )) as unknown as pg.QueryResult<ClaimRow>[];
      return groupByRun(results[results.length - 1]?.rows ?? []);
    },

    /**
     * Marks a claimed run's events published up to `upToSeq`: its outbox rows and its published
     * mark, in one statement (MARK_PUBLISHED). Call it only after the bus accepted those events, in the
     * transaction that claimed them. Returns how many events it marked.
     */
    async markPublished(
      tx: TransactionClient,
      marks: readonly { runId: string; upToSeq: number }[],
    ): Promise<number> {
      if (marks.length === 0) return 0;
      const rows = await query(tx, MARK_PUBLISHED, markParams(marks));
      return rows[0]?.n ?? 0;
    },

    /**
     * markPublished followed by COMMIT in the same round trip (one simple-protocol query, the
     * marks inlined after validation), on the raw client whose transaction claimed the runs:
     * the runs' row locks that the mark takes are released as soon as the server has run it.
     * Returns how many events it marked. Rejects, leaving the transaction to roll back, when the
     * mark fails.
     */
    async markPublishedAndCommit(
      client: TransactionClient,
      marks: readonly { runId: string; upToSeq: number }[],
    ): Promise<number> {
      if (marks.length === 0) {
        await client.query('COMMIT');
        return 0;
      }
      const mark = await executeCommand(client, MARK_PUBLISHED, markParams(marks));
      const results = (await client.query(`${mark}; COMMIT`)) as unknown as pg.QueryResult<{
        n: number;
      }>[];
      return results[0]?.rows[0]?.n ?? 0;
    },

    /**
     * Records a failed publish on the run's head row; after `maxAttempts` failures the run is
     * parked (skipped by `claim`) so that it cannot block the others. Returns whether it parked.
     */
    async recordFailure(
      runId: string,
      error: string,
      maxAttempts: number,
      tx?: Queryable,
    ): Promise<boolean> {
      const rows = await query(tx ?? pool, RECORD_PUBLISH_FAILURE, [
        runId,
        error.slice(0, 2000),
        maxAttempts,
      ]);
      return rows[0]?.parked ?? false;
    },

    /**
     * Puts a parked run back in line (attempts back to 0; last_error kept for the record).
     * Returns 1 when the run was parked, else 0.
     */
    async unpark(runId: string, tx?: Queryable): Promise<number> {
      return isRunId(runId) ? execute(tx ?? pool, UNPARK_RUN, [runId]) : 0;
    },

    /** Puts every parked run back in line; returns how many. */
    async unparkAll(tx?: Queryable): Promise<number> {
      return execute(tx ?? pool, UNPARK_ALL_RUNS, []);
    },

    /** The parked runs, oldest park first: where each stopped and why. */
    async listParked(tx?: Queryable): Promise<ParkedRun[]> {
      return query(tx ?? pool, LIST_PARKED_RUNS, []);
    },

    /** Deletes at most `batchSize` outbox rows published before `before`; returns how many. */
    async deletePublished(before: Date, batchSize: number, tx?: Queryable): Promise<number> {
      return execute(tx ?? pool, DELETE_PUBLISHED_OUTBOX, [before, batchSize]);
    },

    /**
     * Age in seconds of the oldest unpublished outbox row of a run that is not parked; 0 when none
     * waits (READ_OUTBOX_LAG).
     */
    async lagSeconds(tx?: Queryable): Promise<number> {
      const [row] = await query(tx ?? pool, READ_OUTBOX_LAG, []);
      return row?.lag ?? 0;
    },

    /** Runs parked after repeated publish failures. */
    async parkedRuns(tx?: Queryable): Promise<number> {
      const [row] = await query(tx ?? pool, COUNT_PARKED_RUNS, []);
      return row?.n ?? 0;
    },
  };
}

/** The claim's parameters, defaults filled in and each checked. */
function claimLimits(
  options: ClaimOptions,
): [maxRuns: number, maxEventsPerRun: number, maxBytes: number] {
  const int = (n: number, name: string): number => {
    if (!Number.isSafeInteger(n) || n < 0)
      throw new RangeError(`${name} must be a non-negative integer`);
    return n;
  };
  return [
    int(options.maxRuns ?? 32, 'maxRuns'),
    int(options.maxEventsPerRun ?? 500, 'maxEventsPerRun'),
    int(options.maxBytes ?? DEFAULT_CLAIM_BYTES, 'maxBytes'),
  ];
}

/** The mark's parameters (run ids, seqs), each checked. */
function markParams(
  marks: readonly { runId: string; upToSeq: number }[],
): [runIds: string[], upToSeqs: number[]] {
  for (const m of marks) {
    if (!isRunId(m.runId)) throw new RangeError(`not a run id: ${m.runId}`);
    if (!Number.isSafeInteger(m.upToSeq) || m.upToSeq < 1 || m.upToSeq > MAX_SEQ)
      throw new RangeError(`not a seq: ${m.upToSeq}`);
  }
  return [marks.map((m) => m.runId), marks.map((m) => m.upToSeq)];
}
