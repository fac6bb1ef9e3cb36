import {
  type RunEventBody,
  type RunEventEnvelope,
  type RunStatus,
  TERMINAL_STATUS,
  isTerminalType,
} from '@runstream/events';

import { type Database, type Queryable, query } from './database.js';
import { LeaseLostError, PersistenceError, RunNotFoundError, RunTerminalError } from './errors.js';
import { isRunId } from './ids.js';
import { APPEND_EVENTS, APPEND_EVENTS_WAKE, APPEND_OUTCOME } from './sql/append-events.js';
import { type EventRow, READ_EVENTS, READ_EVENTS_WITHIN_BYTES } from './sql/read-events.js';
import { toStorableJson } from './storable-json.js';

export type { EventRow } from './sql/read-events.js';

/** The largest seq a run can have: seqs are PostgreSQL `integer`s. */
export const MAX_SEQ = 2_147_483_647;

/**
 * An event to append: a body of the catalogue (@runstream/events), whose `type` and `data` agree;
 * the repository gives it its seq and time. An event outside the catalogue does not compile.
 */
export type NewEvent = RunEventBody;

export interface AppendResult {
  /** Seq of the first appended event; the batch holds firstSeq..lastSeq. */
  firstSeq: number;
  lastSeq: number;
  /** The time the events were written (one statement, one time). */
  at: Date;
  /** Whether this statement woke the outbox workers itself (asked with `wakeOutbox`). */
  wokeOutbox?: boolean;
}

export interface AppendOptions {
  /**
   * Wake the outbox workers from the append statement itself (a NOTIFY delivered at its commit),
   * instead of the caller sending one after the commit. See APPEND_EVENTS_WAKE for the cost.
   */
  wakeOutbox?: boolean;
}

/**
 * What a writer that holds a run's lease asserts about the run, checked in the append statement
 * under the run's row lock. A mismatch writes nothing and fails with LEASE_LOST. Writers without a
 * lease (tests, tools) leave it out.
 */
export interface AppendFence {
  /** The worker that must hold the run's lease. */
  leaseOwner?: string;
  /**
   * The seq the batch's first event must get: the run's next seq as this writer last saw it. With
   * it the append is idempotent: retried after an ambiguous failure (the connection dropped, the
   * server may have committed), it returns the first attempt's result instead of writing twice.
   */
  expectedSeq?: number;
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
  /**
   * Ends the page early once the summed bytes of its events' data reach this bound (the event that
   * reaches it is the last); a page always holds at least one event. Unbounded when absent.
   */
  maxBytes?: number;
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

/** Where the repository runs its statements when a call is given no `tx`: the process's pool. */
export type RunEventRepoDeps = Pick<Database, 'pool'>;

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
  const stored = (value: unknown): string | null =>
    value === undefined ? null : toStorableJson(value);
  switch (last.type) {
    case 'run.completed':
      return { status: TERMINAL_STATUS[last.type], error: null, output: stored(last.data.output) };
    case 'run.failed':
      return { status: TERMINAL_STATUS[last.type], error: stored(last.data.error), output: null };
    case 'run.cancelled':
      return { status: TERMINAL_STATUS[last.type], error: null, output: null };
    default:
      return undefined;
  }
}

interface TerminalInfo {
  status: RunStatus;
  error: string | null;
  output: string | null;
}

/**
 * Appends events to a run in one statement (see APPEND_EVENTS for the invariants it keeps):
 * seqs from runs.next_seq under the run's row lock, each event with its outbox row, and with a
 * terminal event the run's final status. Text PostgreSQL cannot store (U+0000, lone
 * surrogates) is replaced with U+FFFD. An append to an ended run fails with RUN_TERMINAL, a
 * fenced one whose fence no longer holds with LEASE_LOST; both write nothing. A fenced append
 * with `expectedSeq` that an earlier attempt already committed returns that attempt's result.
 * `db` is the pool, or the
 * caller's transaction.
 */
export async function appendEvents(
  db: Queryable,
  runId: string,
  events: readonly NewEvent[],
  fence: AppendFence = {},
  options: AppendOptions = {},
): Promise<AppendResult> {
  const terminal = checkBatch(runId, events);
  if (!isRunId(runId)) throw new RunNotFoundError(runId);
  const n = events.length;
  const batch = toStorableJson(events);
  const rows = await query(db, options.wakeOutbox ? APPEND_EVENTS_WAKE : APPEND_EVENTS, [
    runId,
    batch,
    n,
    terminal?.status ?? null,
    terminal?.error ?? null,
    terminal?.output ?? null,
    fence.leaseOwner ?? null,
    fence.expectedSeq ?? null,
  ]);
  const row = rows[0];
  if (row) {
    const result = { firstSeq: row.firstSeq, lastSeq: row.firstSeq + n - 1, at: row.at };
    return options.wakeOutbox ? { ...result, wokeOutbox: true } : result;
  }
  // Nothing was written: find out why, on the rare path only.
  const [state] = await query(db, APPEND_OUTCOME, [runId, batch, n, fence.expectedSeq ?? 0]);
  if (!state) throw new RunNotFoundError(runId);
  if (fence.expectedSeq !== undefined && state.committed && state.at) {
    return { firstSeq: fence.expectedSeq, lastSeq: fence.expectedSeq + n - 1, at: state.at };
  }
  if (state.finished) throw new RunTerminalError(runId);
  if (fence.leaseOwner === undefined && fence.expectedSeq === undefined) {
    // Unfenced, unfinished, yet not written: the run finished and was reopened in between,
    // which nothing does; report it as the race it most likely was.
    throw new RunTerminalError(runId);
  }
  throw new LeaseLostError(runId, {
    leaseOwner: fence.leaseOwner,
    expectedSeq: fence.expectedSeq,
  });
}

export function createRunEventRepo({ pool }: RunEventRepoDeps) {
  return {
    /**
     * Appends events to a run in one statement (see APPEND_EVENTS for the invariants it keeps):
     * seqs from runs.next_seq under the run's row lock, each event with its outbox row, and with a
     * terminal event the run's final status. Text PostgreSQL cannot store (U+0000, lone
     * surrogates) is replaced with U+FFFD. An append to an ended run fails with RUN_TERMINAL, a
     * fenced one whose fence no longer holds with LEASE_LOST; both write nothing. A fenced append
     * with `expectedSeq` that an earlier attempt already committed returns that attempt's result.
     * Runs in the caller's transaction when given `tx`.
     */
    append(
      runId: string,
      events: readonly NewEvent[],
      fence: AppendFence = {},
      tx?: Queryable,
      options: AppendOptions = {},
    ): Promise<AppendResult> {
      return appendEvents(tx ?? pool, runId, events, fence, options);
    },

    /**
     * Events of a run in seq order from `fromSeq` (inclusive), one page of at most `limit` events
     * and, with `maxBytes`, about that many bytes of data: every committed event, or with
     * `visibility: 'published'` only published ones (READ_EVENTS).
     */
    async readPage(
      runId: string,
      options: ReadPageOptions = {},
      tx?: Queryable,
    ): Promise<EventRow[]> {
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
      const params = [runId, fromSeq, toSeq, limit, published] as const;
      if (options.maxBytes !== undefined) {
        return query(tx ?? pool, READ_EVENTS_WITHIN_BYTES, [...params, options.maxBytes]);
      }
      return query(tx ?? pool, READ_EVENTS, [...params]);
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
