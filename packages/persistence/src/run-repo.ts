import type { RunEventBody } from '@runstream/events';

import {
  type Database,
  type Queryable,
  type TransactionClient,
  query,
  transaction,
} from './database.js';
import {
  IdempotentRunVanishedError,
  PersistenceError,
  QuotaExceededError,
  RunNotFoundError,
  RunTerminalError,
} from './errors.js';
import { isRunId, newRunId } from './ids.js';
import { appendEvents } from './run-event-repo.js';
import { INSERT_RUN, LOCK_TENANT_QUOTA } from './sql/create-run.js';
import { LIST_RUNS } from './sql/list-runs.js';
import { READ_RUN, READ_RUN_BY_ID, READ_RUN_BY_IDEMPOTENCY_KEY } from './sql/read-run.js';
import { REQUEST_CANCEL } from './sql/request-cancel.js';
import type { RunRecord } from './sql/run-columns.js';

export type { JsonValue, RunRecord } from './sql/run-columns.js';
/** A run's status: the catalogue's list, which the database's `run_status` enum mirrors. */
export type { RunStatus } from '@runstream/events';

export interface CreateRunInput {
  tenant: string;
  graph: string;
  /**
   * The version of the graph (its registration) the input was checked against: workers serving
   * another version leave the run to one that serves it, while one lives (see the claim).
   */
  graphVersion?: string | undefined;
  input: Record<string, unknown>;
  idempotencyKey?: string | undefined;
  /** The run's first event (seq 1), appended in the run's transaction by the append statement. */
  firstEvent: RunEventBody<'run.queued'>;
  /**
   * The most queued runs the tenant may have: a create that would pass it fails with
   * QUOTA_EXCEEDED and writes nothing (an idempotent repeat of an existing run is still answered).
   * Unlimited when absent.
   */
  maxQueued?: number | undefined;
}

export interface CreateRunResult {
  run: RunRecord;
  /** False when the idempotency key matched a run the tenant had already created. */
  created: boolean;
}

export interface ListRunsQuery {
  tenant: string;
  status?: RunRecord['status'] | undefined;
  graph?: string | undefined;
  /** @default 50 */
  limit?: number | undefined;
  /** The `nextCursor` of the previous page. */
  cursor?: string | undefined;
}

export interface RunPage {
  runs: RunRecord[];
  nextCursor: string | null;
}

/** Where the repository runs its statements when a call is given no `tx`: the process's pool. */
export type RunRepoDeps = Pick<Database, 'pool'>;

export type RunRepo = ReturnType<typeof createRunRepo>;

export function createRunRepo({ pool }: RunRepoDeps) {
  return {
    /**
     * Creates a run and appends its first event, run.queued (seq 1, with its outbox row), in one
     * transaction, so that a created run always has an event; the event goes through the append
     * statement like every other. The same idempotency key for the same tenant returns the
     * existing run. With `maxQueued`, a create past the tenant's quota is QUOTA_EXCEEDED and
     * writes nothing. Runs in the caller's transaction when given `tx`.
     */
    async create(input: CreateRunInput, tx?: TransactionClient): Promise<CreateRunResult> {
      return tx ? createIn(tx, input) : transaction(pool, (client) => createIn(client, input));
    },

    /** The run, if it exists and belongs to the tenant; a malformed id is simply not found. */
    async find(tenant: string, runId: string, tx?: Queryable): Promise<RunRecord | null> {
      if (!isRunId(runId)) return null;
      const [run] = await query(tx ?? pool, READ_RUN, [tenant, runId]);
      return run ?? null;
    },

    /** Like `find`, but a missing run is a RunNotFoundError. */
    async get(tenant: string, runId: string, tx?: Queryable): Promise<RunRecord> {
      const run = await this.find(tenant, runId, tx);
      if (!run) throw new RunNotFoundError(runId);
      return run;
    },

    /** The run whatever its tenant; for workers, never for requests. */
    async getById(runId: string, tx?: Queryable): Promise<RunRecord> {
      const [run] = isRunId(runId) ? await query(tx ?? pool, READ_RUN_BY_ID, [runId]) : [];
      if (!run) throw new RunNotFoundError(runId);
      return run;
    },

    /** A page of the tenant's runs, newest first (ids are UUIDv7, so id order is creation order). */
    async list(listQuery: ListRunsQuery, tx?: Queryable): Promise<RunPage> {
      const limit = listQuery.limit ?? 50;
      const after = listQuery.cursor === undefined ? null : decodeCursor(listQuery.cursor);
      const runs = await query(tx ?? pool, LIST_RUNS, [
        listQuery.tenant,
        listQuery.status ?? null,
        listQuery.graph ?? null,
        after,
        limit + 1,
      ]);
      const page = runs.slice(0, limit);
      const last = page.at(-1);
      return { runs: page, nextCursor: runs.length > limit && last ? encodeCursor(last.id) : null };
    },

    /**
     * Records a cancel request on a run that has not ended (idempotent: the first request's time
     * is kept). The run-worker sees it and ends the run with run.cancelled.
     */
    async requestCancel(tenant: string, runId: string, tx?: Queryable): Promise<RunRecord> {
      if (!isRunId(runId)) throw new RunNotFoundError(runId);
      const [run] = await query(tx ?? pool, REQUEST_CANCEL, [tenant, runId]);
      if (run) return run;
      await this.get(tenant, runId, tx);
      throw new RunTerminalError(runId);
    },
  };
}

/**
 * The create, in the transaction of `tx`: under a quota, the tenant's lock first (LOCK_TENANT_QUOTA
 * says why), then the run (INSERT_RUN), then its first event through the append statement.
 */
async function createIn(tx: TransactionClient, input: CreateRunInput): Promise<CreateRunResult> {
  const { maxQueued } = input;
  if (maxQueued !== undefined) await query(tx, LOCK_TENANT_QUOTA, [input.tenant]);
  const [outcome] = await query(tx, INSERT_RUN, [
    newRunId(),
    input.tenant,
    input.graph,
    input.graphVersion ?? null,
    JSON.stringify(input.input),
    input.idempotencyKey ?? null,
    maxQueued ?? null,
  ]);
  const { underQuota, ...inserted } = outcome!;
  if (inserted.id !== null) {
    const run = inserted;
    // Unfenced: nobody else can see the run before this transaction commits.
    const first = await appendEvents(tx, run.id, [input.firstEvent]);
    // The append moved next_seq past the event; updated_at is the transaction's now(), unchanged.
    return { run: { ...run, nextSeq: first.lastSeq + 1 }, created: true };
  }
  // The key is taken (ON CONFLICT), or the quota is full. A conflicting row committed before our
  // statement ended, so a plain read sees it; an idempotent repeat is answered even when full.
  const [existing] =
    input.idempotencyKey === undefined
      ? []
      : await query(tx, READ_RUN_BY_IDEMPOTENCY_KEY, [input.tenant, input.idempotencyKey]);
  if (existing) return { run: existing, created: false };
  if (maxQueued !== undefined && !underQuota) throw new QuotaExceededError(maxQueued);
  // The tenant had room, so the key refused the insert, and the run holding it is gone since.
  throw new IdempotentRunVanishedError(input.idempotencyKey);
}

/** Cursors are opaque to clients; today they wrap the last id of the page. */
function encodeCursor(id: string): string {
  return Buffer.from(JSON.stringify({ id }), 'utf8').toString('base64url');
}

export class InvalidCursorError extends PersistenceError {
  declare readonly code: 'INVALID_CURSOR';

  constructor(cursor: string) {
    super('INVALID_CURSOR', `malformed cursor: ${cursor.slice(0, 64)}`, { field: 'cursor' });
  }
}

function decodeCursor(cursor: string): string {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      parsed &&
      typeof parsed === 'object' &&
      'id' in parsed &&
      typeof parsed.id === 'string' &&
      isRunId(parsed.id)
    ) {
      return parsed.id;
    }
  } catch {
    // fall through: any undecodable cursor is the caller's mistake
  }
  throw new InvalidCursorError(cursor);
}
