import { type RunEventEnvelope, TERMINAL_STATUS, isTerminalType } from '@runstream/events';

import type pg from 'pg';

import { type Db, queryRows } from './database.js';
import { PersistenceError, RunNotFoundError, RunTerminalError } from './errors.js';
import { isRunId } from './ids.js';
import { APPEND_EVENTS_SQL } from './sql/append-events.js';
import { READ_EVENTS_SQL } from './sql/read-events.js';

/** The largest seq a run can have: seqs are PostgreSQL `integer`s. */
export const MAX_SEQ = 2_147_483_647;

const APPEND_EVENTS = { name: 'runstream_append_events', text: APPEND_EVENTS_SQL };
const READ_EVENTS = { name: 'runstream_read_events', text: READ_EVENTS_SQL };

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

/**
 * Which events a read may return: every committed one, or only those the outbox has published
 * (up to the run's published mark).
 */
export type EventVisibility = 'committed' | 'published';

export interface ReadPageOptions {
  /** First seq to return (inclusive). @default 1 */
  fromSeq?: number;
  /** Largest seq to return (inclusive); unbounded when absent. */
  toSeq?: number;
  /** @default 1000 */
  limit?: number;
  /** @default 'committed' */
  visibility?: EventVisibility;
  /**
   * With `visibility: 'published'`: a seq known to be published although its mark may not have
   * committed yet (a bus message announced it; the outbox publishes before it marks). The read
   * then goes at least this far, never past what is committed.
   * @default 0
   */
  knownPublishedSeq?: number;
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
  /** When given, the hot paths run on it directly outside transactions (see queryRows). */
  pool?: pg.Pool;
}

export type RunEventRepo = ReturnType<typeof createRunEventRepo>;

/** An append must be non-empty, and only its last event may end the run. */
function checkBatch(runId: string, events: readonly NewEvent[]): TerminalInfo | undefined {
  if (events.length === 0) {
    throw new PersistenceError('INVALID_APPEND', 'an append needs at least one event', { runId });
  }
  for (let i = 0; i < events.length - 1; i++) {
    if (isTerminalType(events[i]!.type)) {
      throw new PersistenceError(
        'INVALID_APPEND',
        'a terminal event must be the last of its batch',
        {
          runId,
          index: i,
        },
      );
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

export function createRunEventRepo(deps: RunEventRepoDeps) {
  const { prisma } = deps;
  return {
    /**
     * Appends events to a run in one statement (see APPEND_EVENTS_SQL for the invariants it keeps):
     * seqs from runs.next_seq under the run's row lock, each event with its outbox row, and with a
     * terminal event the run's final status. An append to an ended run fails with RUN_TERMINAL
     * and writes nothing. Runs in the caller's transaction when given `tx`.
     */
    async append(runId: string, events: readonly NewEvent[], tx?: Db): Promise<AppendResult> {
      const terminal = checkBatch(runId, events);
      if (!isRunId(runId)) throw new RunNotFoundError(runId);
      const db = tx ?? prisma;
      const n = events.length;
      const rows = await queryRows<{ first_seq: number; at: Date }>(deps, tx, APPEND_EVENTS, [
        runId,
        JSON.stringify(events),
        n,
        terminal?.status ?? null,
        terminal?.error ?? null,
        terminal?.output ?? null,
      ]);
      const row = rows[0];
      if (!row) {
        // Nothing was written: tell an unknown run from an ended one.
        const exists = await db.run.findUnique({ where: { id: runId }, select: { id: true } });
        throw exists ? new RunTerminalError(runId) : new RunNotFoundError(runId);
      }
      return { firstSeq: row.first_seq, lastSeq: row.first_seq + n - 1, at: row.at };
    },

    /**
     * Events of a run in seq order from `fromSeq` (inclusive), one page of at most `limit`: every
     * committed event, or with `visibility: 'published'` only published ones (READ_EVENTS_SQL).
     */
    async readPage(runId: string, options: ReadPageOptions = {}, tx?: Db): Promise<EventRow[]> {
      if (!isRunId(runId)) return [];
      const fromSeq = options.fromSeq ?? 1;
      const toSeq = Math.min(options.toSeq ?? MAX_SEQ, MAX_SEQ);
      const limit = options.limit ?? 1000;
      // Past MAX_SEQ nothing can exist, and binding it would overflow the int parameter.
      if (fromSeq > toSeq) return [];
      const published =
        options.visibility === 'published'
          ? Math.min(Math.max(options.knownPublishedSeq ?? 0, 0), MAX_SEQ)
          : null;
      return queryRows<EventRow>(deps, tx, READ_EVENTS, [runId, fromSeq, toSeq, limit, published]);
    },
  };
}

/** The canonical envelope of a stored event; the one place that shapes it for the outside. */
export function toEnvelope(row: EventRow): RunEventEnvelope {
  return {
    runId: row.runId,
    seq: row.seq,
    type: row.type,
    at: row.createdAt.toISOString(),
    data: row.data,
  };
}
