import { type RunEventEnvelope, TERMINAL_STATUS, isTerminalType } from '@runstream/events';

import type { Db } from './database.js';
import { PersistenceError, RunNotFoundError, RunTerminalError } from './errors.js';
import { isRunId } from './ids.js';

/** An event to append: the repository gives it its seq and time. */
export interface NewEvent {
  type: string;
  data: Record<string, unknown>;
}

export interface AppendResult {
  /** Seq of the first appended event; the batch holds firstSeq..lastSeq. */
  firstSeq: number;
  lastSeq: number;
  /** Commit-ordered time the events were written (one statement, one time). */
  at: Date;
}

export interface ReadPageOptions {
  /** First seq to return (inclusive). @default 1 */
  fromSeq?: number;
  /** Largest seq to return (inclusive); unbounded when absent. */
  toSeq?: number;
  /** @default 1000 */
  limit?: number;
}

export interface EventRow {
  runId: string;
  seq: number;
  type: string;
  data: Record<string, unknown>;
  createdAt: Date;
}

export interface RunEventRepoDeps {
  prisma: Db;
}

export type RunEventRepo = ReturnType<typeof createRunEventRepo>;

/** An append must be non-empty, and only its last event may end the run. */
function checkBatch(runId: string, events: readonly NewEvent[]): TerminalInfo | undefined {
  if (events.length === 0) {
    throw new PersistenceError('INVALID_APPEND', 'an append needs at least one event', { runId });
  }
  for (let i = 0; i < events.length - 1; i++) {
    if (isTerminalType(events[i]!.type)) {
      throw new PersistenceError('INVALID_APPEND', 'a terminal event must be the last of its batch', {
        runId,
        index: i,
      });
    }
  }
  const last = events[events.length - 1]!;
  if (!isTerminalType(last.type)) return undefined;
  const error = last.data.error;
  const output = last.data.output;
  return {
    status: TERMINAL_STATUS[last.type],
    error: error === undefined ? null : JSON.stringify(error),
    output: output === undefined ? null : JSON.stringify(output),
  };
}

interface TerminalInfo {
  status: string;
  error: string | null;
  output: string | null;
}

export function createRunEventRepo({ prisma }: RunEventRepoDeps) {
  return {
    /**
     * Appends events to a run in one statement: allocates their seqs from runs.next_seq under the
     * run's row lock (so a run's seqs commit gapless and in order, and a rollback gives them back),
     * writes each event and its outbox row, and, with a terminal event, the run's final status.
     * An append to an ended run fails with RUN_TERMINAL and writes nothing.
     */
    async append(runId: string, events: readonly NewEvent[], tx?: Db): Promise<AppendResult> {
      const terminal = checkBatch(runId, events);
      if (!isRunId(runId)) throw new RunNotFoundError(runId);
      const db = tx ?? prisma;
      const n = events.length;
      const rows = await db.$queryRaw<{ first_seq: number; at: Date }[]>`
        WITH run AS (
          UPDATE runs
             SET next_seq = next_seq + ${n}::int,
                 status = COALESCE(${terminal?.status ?? null}::run_status, status),
                 finished_at = CASE WHEN ${terminal !== undefined} THEN now() ELSE finished_at END,
                 error = COALESCE(${terminal?.error ?? null}::jsonb, error),
                 output = COALESCE(${terminal?.output ?? null}::jsonb, output),
                 lease_owner = CASE WHEN ${terminal !== undefined} THEN NULL ELSE lease_owner END,
                 lease_expires_at = CASE WHEN ${terminal !== undefined} THEN NULL ELSE lease_expires_at END,
                 updated_at = now()
           WHERE id = ${runId}::uuid AND finished_at IS NULL
          RETURNING next_seq - ${n}::int AS first_seq
        ), event AS (
          INSERT INTO run_events (run_id, seq, type, data, terminal)
          SELECT ${runId}::uuid, run.first_seq + e.ord::int - 1, e.value->>'type', e.value->'data',
                 e.ord = ${n} AND ${terminal !== undefined}
            FROM run, jsonb_array_elements(${JSON.stringify(events)}::jsonb) WITH ORDINALITY AS e(value, ord)
          RETURNING run_id, seq
        ), outbox AS (
          INSERT INTO run_outbox (run_id, seq) SELECT run_id, seq FROM event
        )
        SELECT first_seq, now() AS at FROM run`;
      const row = rows[0];
      if (!row) {
        // Nothing was written: tell an unknown run from an ended one.
        const exists = await db.run.findUnique({ where: { id: runId }, select: { id: true } });
        throw exists ? new RunTerminalError(runId) : new RunNotFoundError(runId);
      }
      return { firstSeq: row.first_seq, lastSeq: row.first_seq + n - 1, at: row.at };
    },

    /** Events of a run in seq order from `fromSeq` (inclusive), one page of at most `limit`. */
    async readPage(runId: string, options: ReadPageOptions = {}, tx?: Db): Promise<EventRow[]> {
      if (!isRunId(runId)) return [];
      const fromSeq = options.fromSeq ?? 1;
      const toSeq = options.toSeq ?? 2_147_483_647;
      const limit = options.limit ?? 1000;
      return (tx ?? prisma).$queryRaw<EventRow[]>`
        SELECT run_id AS "runId", seq, type, data, created_at AS "createdAt"
          FROM run_events
         WHERE run_id = ${runId}::uuid AND seq >= ${fromSeq}::int AND seq <= ${toSeq}::int
         ORDER BY seq
         LIMIT ${limit}::int`;
    },
  };
}

/** The canonical envelope of a stored event; the one place that shapes it for the outside. */
export function toEnvelope(row: EventRow): RunEventEnvelope {
  return { runId: row.runId, seq: row.seq, type: row.type, at: row.createdAt.toISOString(), data: row.data };
}
