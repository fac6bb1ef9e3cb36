import type pg from 'pg';

import type { Db } from './database.js';
import { isRunId } from './ids.js';
import { type EventRow, MAX_SEQ } from './run-event-repo.js';

/**
 * Where the outbox statements run: a Prisma client or transaction, or a raw pg client (the
 * worker's claim transaction, one round trip per statement without Prisma's per-query cost).
 */
export type OutboxQueryable = Db | pg.ClientBase;

async function rowsOf<T>(q: OutboxQueryable, sql: string, params: unknown[]): Promise<T[]> {
  if ('$queryRawUnsafe' in q) return q.$queryRawUnsafe<T[]>(sql, ...params);
  return (await q.query(sql, params)).rows as T[];
}

/**
 * The claim: locks each run's head outbox row (its lowest unpublished seq) with SKIP LOCKED and
 * reads that run's next unpublished events, in one statement. Only a head row qualifies, so the
 * other rows of a held run are never claimed by anyone else; one run is held by one replica.
 *
 * Bounded three ways: runs ($1), events per run ($2) and bytes of event data ($3). Each run's 1st
 * event comes whatever its size (and outside the budget), so a claim always moves every run it
 * holds; the budget is for the events after it, shared round robin (every run's 2nd event, then
 * every run's 3rd, ...) so that one deep run cannot take it all (review A3: an unbounded claim of large events never fit the bus's
 * deadline and was retried for ever). A round-robin prefix of a run is a prefix of its seqs: no
 * seq is ever skipped.
 *
 * The event is LEFT JOINed: the outbox references its run, not its event (migration
 * 20261126020000), so a writer outside the append can leave a row whose event is missing. Such a
 * row comes back with a NULL type, so that the caller can stop the run there and park it, instead
 * of the row holding a claim slot for ever (review B4) or its seq being skipped.
 */
const CLAIM_SQL = `
  WITH head AS (
    SELECT o.id, o.run_id
      FROM run_outbox o
     WHERE o.published_at IS NULL
       AND o.parked_at IS NULL
       AND NOT EXISTS (
         SELECT 1 FROM run_outbox p
          WHERE p.run_id = o.run_id AND p.published_at IS NULL AND p.seq < o.seq)
     ORDER BY o.id
     LIMIT $1::int
       FOR UPDATE SKIP LOCKED
  ), claimed AS (
    SELECT h.id AS head_id, h.run_id, ob.seq,
           row_number() OVER (PARTITION BY h.run_id ORDER BY ob.seq) AS rank,
           e.type, e.data, e.created_at, coalesce(octet_length(e.data::text), 0) AS bytes
      FROM head h
      CROSS JOIN LATERAL (
        SELECT ob.seq
          FROM run_outbox ob
         WHERE ob.run_id = h.run_id AND ob.published_at IS NULL
         ORDER BY ob.seq
         LIMIT $2::int) ob
      LEFT JOIN run_events e ON e.run_id = h.run_id AND e.seq = ob.seq
  ), budget AS (
    SELECT c.*,
           sum(CASE WHEN c.rank = 1 THEN 0 ELSE c.bytes END)
             OVER (ORDER BY c.rank, c.head_id ROWS UNBOUNDED PRECEDING) AS total
      FROM claimed c
  )
  SELECT run_id AS "runId", seq, type, data, created_at AS "createdAt"
    FROM budget
   WHERE rank = 1 OR total <= $3::bigint
   ORDER BY run_id, seq`;

/**
 * Marks what the bus accepted: each claimed run's outbox rows up to `up_to`, and the run's published
 * high-water mark (runs.published_seq), which published replay reads instead of a column on every
 * event. Keeps I4: the mark only moves forward (GREATEST: a late replica that marks less never
 * moves it back), and never passes the run's last seq (`up_to` is a claimed, committed seq; the
 * CHECK runs_published_seq_allocated guards it too). It takes each run's row lock until COMMIT,
 * which appends to that run wait for: the worker sends COMMIT in the same round trip
 * (markPublishedAndCommit), so the lock lives for microseconds, not a network round trip.
 */
const MARK_SQL = `
  WITH mark AS (
    SELECT * FROM unnest($1::uuid[], $2::int[]) AS m(run_id, up_to)
  ), outbox AS (
    UPDATE run_outbox o SET published_at = now()
      FROM mark
     WHERE o.run_id = mark.run_id AND o.seq <= mark.up_to AND o.published_at IS NULL
    RETURNING 1
  ), run AS (
    UPDATE runs r SET published_seq = GREATEST(r.published_seq, mark.up_to)
      FROM mark
     WHERE r.id = mark.run_id AND r.published_seq < mark.up_to
    RETURNING 1
  )
  SELECT (SELECT count(*) FROM outbox)::int AS n, (SELECT count(*) FROM run)::int AS runs`;

/** A claimed row; `type` is null when the outbox row's event is missing. */
type ClaimRow = Omit<EventRow, 'type'> & { type: string | null };

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

const RECORD_FAILURE_SQL = `
  UPDATE run_outbox o
     SET attempts = o.attempts + 1,
         last_error = $2,
         parked_at = CASE WHEN o.attempts + 1 >= $3::int THEN now() END
   WHERE o.id = (SELECT id FROM run_outbox
                  WHERE run_id = $1::uuid AND published_at IS NULL
                  ORDER BY seq LIMIT 1)
  RETURNING parked_at IS NOT NULL AS parked`;

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

export interface OutboxRepoDeps {
  prisma: Db;
}

export type OutboxRepo = ReturnType<typeof createOutboxRepo>;

export function createOutboxRepo({ prisma }: OutboxRepoDeps) {
  return {
    /**
     * Claims runs that have unpublished events and reads each one's next events, in one statement.
     * Must run inside a transaction (`tx`): the claim is the row lock on each run's head outbox row
     * (its lowest unpublished seq), taken with SKIP LOCKED, so one run is held by one replica at a
     * time and its events are published in seq order. Other rows of a held run are never claimed
     * by anyone else, since only a head row qualifies. The lock is released at commit, at rollback,
     * or when the holder's connection dies. Parked runs are skipped.
     */
    async claim(tx: OutboxQueryable, options: ClaimOptions = {}): Promise<ClaimedRun[]> {
      return groupByRun(
        await rowsOf<ClaimRow>(tx, CLAIM_SQL, [
          options.maxRuns ?? 32,
          options.maxEventsPerRun ?? 500,
          options.maxBytes ?? DEFAULT_CLAIM_BYTES,
        ]),
      );
    },

    /**
     * Opens a transaction on a raw pg client and claims in the same round trip (BEGIN, a local
     * statement timeout and the claim as one simple-protocol query, the numbers inlined): the
     * first publish of a wake-up is one round trip sooner. The caller commits or rolls back.
     */
    async beginAndClaim(
      client: pg.ClientBase,
      options: ClaimOptions & { statementTimeoutMs?: number } = {},
    ): Promise<ClaimedRun[]> {
      const int = (n: number, name: string): number => {
        if (!Number.isSafeInteger(n) || n < 0)
          throw new RangeError(`${name} must be a non-negative integer`);
        return n;
      };
      const sql = CLAIM_SQL.replace('$1::int', `${int(options.maxRuns ?? 32, 'maxRuns')}`)
        .replace('$2::int', `${int(options.maxEventsPerRun ?? 500, 'maxEventsPerRun')}`)
        .replace('$3::bigint', `${int(options.maxBytes ?? DEFAULT_CLAIM_BYTES, 'maxBytes')}`);
      const timeout = int(options.statementTimeoutMs ?? 5000, 'statementTimeoutMs');
      const results = (await client.query(
        `BEGIN; SET LOCAL statement_timeout = ${timeout}; ${sql}`,
      )) as unknown as pg.QueryResult<ClaimRow>[];
      return groupByRun(results[results.length - 1]?.rows ?? []);
    },

    /**
     * Marks a claimed run's events published up to `upToSeq`: its outbox rows and its published
     * mark, in one statement (MARK_SQL). Call it only after the bus accepted those events, in the
     * transaction that claimed them. Returns how many events it marked.
     */
    async markPublished(
      tx: OutboxQueryable,
      marks: readonly { runId: string; upToSeq: number }[],
    ): Promise<number> {
      if (marks.length === 0) return 0;
      const rows = await rowsOf<{ n: number }>(tx, MARK_SQL, [
        marks.map((m) => m.runId),
        marks.map((m) => m.upToSeq),
      ]);
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
      client: pg.ClientBase,
      marks: readonly { runId: string; upToSeq: number }[],
    ): Promise<number> {
      if (marks.length === 0) {
        await client.query('COMMIT');
        return 0;
      }
      for (const m of marks) {
        if (!isRunId(m.runId)) throw new RangeError(`not a run id: ${m.runId}`);
        if (!Number.isSafeInteger(m.upToSeq) || m.upToSeq < 1 || m.upToSeq > MAX_SEQ)
          throw new RangeError(`not a seq: ${m.upToSeq}`);
      }
      const sql = MARK_SQL.replace(
        '$1::uuid[]',
        `'{${marks.map((m) => m.runId).join(',')}}'::uuid[]`,
      ).replace('$2::int[]', `'{${marks.map((m) => m.upToSeq).join(',')}}'::int[]`);
      const results = (await client.query(`${sql}; COMMIT`)) as unknown as pg.QueryResult<{
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
      tx?: OutboxQueryable,
    ): Promise<boolean> {
      const rows = await rowsOf<{ parked: boolean }>(tx ?? prisma, RECORD_FAILURE_SQL, [
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
    async unpark(runId: string, tx?: Db): Promise<number> {
      return (tx ?? prisma).$executeRaw`
        UPDATE run_outbox SET parked_at = NULL, attempts = 0
         WHERE run_id = ${runId}::uuid AND parked_at IS NOT NULL`;
    },

    /** Puts every parked run back in line; returns how many. */
    async unparkAll(tx?: Db): Promise<number> {
      return (tx ?? prisma).$executeRaw`
        UPDATE run_outbox SET parked_at = NULL, attempts = 0 WHERE parked_at IS NOT NULL`;
    },

    /** The parked runs, oldest park first: where each stopped and why. */
    async listParked(tx?: Db): Promise<ParkedRun[]> {
      // Only a run's head row is ever parked, so this is one row per run.
      return (tx ?? prisma).$queryRaw<ParkedRun[]>`
        SELECT run_id::text AS "runId", seq, attempts, last_error AS "lastError",
               parked_at AS "parkedAt"
          FROM run_outbox
         WHERE parked_at IS NOT NULL
         ORDER BY parked_at, run_id`;
    },

    /** Deletes at most `batchSize` outbox rows published before `before`; returns how many. */
    async deletePublished(before: Date, batchSize: number, tx?: Db): Promise<number> {
      return (tx ?? prisma).$executeRaw`
        DELETE FROM run_outbox WHERE id IN (
          SELECT id FROM run_outbox
           WHERE published_at IS NOT NULL AND published_at < ${before}
           ORDER BY published_at
           LIMIT ${batchSize}::int)`;
    },

    /**
     * Age in seconds of the oldest unpublished outbox row of a run that is not parked; 0 when none
     * waits. Only a parked run's head row carries parked_at, so its later rows are excluded too.
     */
    async lagSeconds(tx?: Db): Promise<number> {
      const rows = await (tx ?? prisma).$queryRaw<{ lag: number }[]>`
        SELECT COALESCE(EXTRACT(EPOCH FROM now() - min(o.created_at)), 0)::float8 AS lag
          FROM run_outbox o
         WHERE o.published_at IS NULL
           AND NOT EXISTS (SELECT 1 FROM run_outbox p
                            WHERE p.run_id = o.run_id AND p.published_at IS NULL AND p.parked_at IS NOT NULL)`;
      return rows[0]?.lag ?? 0;
    },

    /** Runs parked after repeated publish failures. */
    async parkedRuns(tx?: Db): Promise<number> {
      const rows = await (tx ?? prisma).$queryRaw<{ n: number }[]>`
        SELECT count(DISTINCT run_id)::int AS n FROM run_outbox WHERE parked_at IS NOT NULL`;
      return rows[0]?.n ?? 0;
    },
  };
}
