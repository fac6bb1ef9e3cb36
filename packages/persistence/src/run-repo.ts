import type { RunStatus } from '@runstream/events';

import { Prisma } from './generated/prisma/client.js';
import type { Run } from './generated/prisma/client.js';
import type { RunStatus as StoredRunStatus } from './generated/prisma/enums.js';
import type { Db } from './database.js';
import {
  IdempotentRunVanishedError,
  PersistenceError,
  QuotaExceededError,
  RunNotFoundError,
  RunTerminalError,
} from './errors.js';
import { isRunId, newRunId } from './ids.js';
import type { NewEvent } from './run-event-repo.js';

/** A run as stored. `nextSeq - 1` is its last seq. */
export type RunRecord = Run;
/** A run's status: the catalogue's list, which the database's `run_status` enum mirrors. */
export type { RunStatus } from '@runstream/events';

// The database enum and the catalogue's list must agree exactly: a status added to one only is a
// compile error here rather than a row the api cannot answer with.
type Assert<T extends true> = T;
type _StatusesAgree = Assert<
  [StoredRunStatus] extends [RunStatus]
    ? [RunStatus] extends [StoredRunStatus]
      ? true
      : false
    : false
>;

/** The columns of `runs`, aliased to the Prisma field names, for raw statements' RETURNING lists. */
export const RUN_COLUMNS = Prisma.raw(`
  id, tenant, graph, graph_version AS "graphVersion", input, status, next_seq AS "nextSeq", idempotency_key AS "idempotencyKey",
  lease_owner AS "leaseOwner", lease_expires_at AS "leaseExpiresAt",
  cancel_requested_at AS "cancelRequestedAt", output, error, created_at AS "createdAt",
  updated_at AS "updatedAt", started_at AS "startedAt", finished_at AS "finishedAt"`);

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
  /** The run's first event (seq 1), written in the same statement as the run. */
  firstEvent: NewEvent;
  /**
   * The most queued runs the tenant may have: a create that would pass it fails with
   * QUOTA_EXCEEDED and writes nothing (an idempotent repeat of an existing run is still answered).
   * Unlimited when absent.
   */
  maxQueued?: number | undefined;
}

/**
 * Class id of the advisory locks that serialise one tenant's creates under a quota (the second key
 * is hashtext(tenant)); a constant no other advisory lock user of the database shares.
 */
const TENANT_QUOTA_LOCK = 0x52535154;

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

export interface RunRepoDeps {
  prisma: Db;
}

export type RunRepo = ReturnType<typeof createRunRepo>;

export function createRunRepo({ prisma }: RunRepoDeps) {
  return {
    /**
     * Creates a run with its first event and outbox row in one statement, so that a created run
     * always has an event. The same idempotency key for the same tenant returns the existing run.
     * With `maxQueued`, a create past the tenant's quota is QUOTA_EXCEEDED and writes nothing.
     */
    async create(input: CreateRunInput, tx?: Db): Promise<CreateRunResult> {
      const { maxQueued } = input;
      if (maxQueued === undefined) return insertRun(tx ?? prisma, input);
      // The quota holds under concurrent creates: each of the tenant's creates takes the tenant's
      // lock first, so its insert (a new statement, so a new snapshot under READ COMMITTED) counts
      // every queued run committed before it, and no other create of the tenant can commit
      // between that count and its own commit.
      const underQuota = async (db: Db): Promise<CreateRunResult> => {
        await db.$executeRaw`SELECT pg_advisory_xact_lock(${TENANT_QUOTA_LOCK}::int, hashtext(${input.tenant}))`;
        return insertRun(db, input, maxQueued);
      };
      // A burst of one tenant's creates queues on its lock, each holding a pooled connection:
      // Prisma's default 2 s wait for a connection would turn that queue into errors.
      return tx
        ? underQuota(tx)
        : prisma.$transaction(underQuota, { maxWait: 10_000, timeout: 10_000 });
    },

    /** The run, if it exists and belongs to the tenant; a malformed id is simply not found. */
    async find(tenant: string, runId: string, tx?: Db): Promise<RunRecord | null> {
      if (!isRunId(runId)) return null;
      return (tx ?? prisma).run.findFirst({ where: { id: runId, tenant } });
    },

    /** Like `find`, but a missing run is a RunNotFoundError. */
    async get(tenant: string, runId: string, tx?: Db): Promise<RunRecord> {
      const run = await this.find(tenant, runId, tx);
      if (!run) throw new RunNotFoundError(runId);
      return run;
    },

    /** The run whatever its tenant; for workers, never for requests. */
    async getById(runId: string, tx?: Db): Promise<RunRecord> {
      const run = isRunId(runId)
        ? await (tx ?? prisma).run.findUnique({ where: { id: runId } })
        : null;
      if (!run) throw new RunNotFoundError(runId);
      return run;
    },

    /** A page of the tenant's runs, newest first (ids are UUIDv7, so id order is creation order). */
    async list(query: ListRunsQuery, tx?: Db): Promise<RunPage> {
      const limit = query.limit ?? 50;
      const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
      const runs = await (tx ?? prisma).run.findMany({
        where: {
          tenant: query.tenant,
          ...(query.status ? { status: query.status } : {}),
          ...(query.graph ? { graph: query.graph } : {}),
          ...(after ? { id: { lt: after } } : {}),
        },
        orderBy: { id: 'desc' },
        take: limit + 1,
      });
      const page = runs.slice(0, limit);
      const last = page.at(-1);
      return { runs: page, nextCursor: runs.length > limit && last ? encodeCursor(last.id) : null };
    },

    /**
     * Records a cancel request on a run that has not ended (idempotent: the first request's time
     * is kept). The run-worker sees it and ends the run with run.cancelled.
     */
    async requestCancel(tenant: string, runId: string, tx?: Db): Promise<RunRecord> {
      if (!isRunId(runId)) throw new RunNotFoundError(runId);
      const db = tx ?? prisma;
      const rows = await db.$queryRaw<RunRecord[]>`
        UPDATE runs
           SET cancel_requested_at = COALESCE(cancel_requested_at, now()), updated_at = now()
         WHERE id = ${runId}::uuid AND tenant = ${tenant} AND finished_at IS NULL
        RETURNING ${RUN_COLUMNS}`;
      if (rows[0]) return rows[0];
      await this.get(tenant, runId, tx);
      throw new RunTerminalError(runId);
    },
  };
}

/**
 * Creates a run with its first event and outbox row in one statement, so that a created run always
 * has an event. With `maxQueued` (the caller holds the tenant's quota lock) only while the tenant
 * has fewer queued runs. The same idempotency key for the same tenant returns the existing run.
 */
async function insertRun(
  db: Db,
  input: CreateRunInput,
  maxQueued?: number,
): Promise<CreateRunResult> {
  const id = newRunId();
  // The count stops at the quota: a tenant with a long queue costs no more than a full one.
  const underQuota =
    maxQueued === undefined
      ? Prisma.sql`TRUE`
      : Prisma.sql`(SELECT count(*) FROM (SELECT 1 FROM runs WHERE tenant = ${input.tenant}
                     AND status = 'queued' LIMIT ${maxQueued}::int) queued) < ${maxQueued}::int`;
  // One row whatever happened: the run it created (all columns null when it created none) and
  // whether the tenant had room. Read in the insert's own snapshot, the room tells a full quota
  // from a taken key; a count in a later statement could see a run claimed since, and blame the key.
  const [outcome] = await db.$queryRaw<InsertOutcome[]>`
    WITH quota AS (
      SELECT ${underQuota} AS room
    ), run AS (
      INSERT INTO runs (id, tenant, graph, graph_version, input, idempotency_key, next_seq)
      SELECT ${id}::uuid, ${input.tenant}, ${input.graph}, ${input.graphVersion ?? null}::text,
             ${JSON.stringify(input.input)}::jsonb,
             ${input.idempotencyKey ?? null}, 2
        FROM quota
       WHERE quota.room
      ON CONFLICT (tenant, idempotency_key) DO NOTHING
      RETURNING ${RUN_COLUMNS}
    ), event AS (
      INSERT INTO run_events (run_id, seq, type, data)
      SELECT run.id, 1, ${input.firstEvent.type}, ${JSON.stringify(input.firstEvent.data)}::jsonb FROM run
      RETURNING run_id, seq
    ), outbox AS (
      INSERT INTO run_outbox (run_id, seq) SELECT run_id, seq FROM event
    )
    SELECT run.*, quota.room AS "underQuota" FROM quota LEFT JOIN run ON TRUE`;
  if (outcome!.id !== null) {
    const { underQuota: _room, ...run } = outcome!;
    return { run, created: true };
  }
  // The key is taken (ON CONFLICT), or the quota is full. A conflicting row committed before our
  // statement ended, so a plain read sees it; an idempotent repeat is answered even when full.
  const existing =
    input.idempotencyKey === undefined
      ? null
      : await db.run.findFirst({
          where: { tenant: input.tenant, idempotencyKey: input.idempotencyKey },
        });
  if (existing) return { run: existing, created: false };
  if (maxQueued !== undefined && !outcome!.underQuota) throw new QuotaExceededError(maxQueued);
  // The tenant had room, so the key refused the insert, and the run holding it is gone since.
  throw new IdempotentRunVanishedError(input.idempotencyKey);
}

/** What the create statement answers: the run it created, or nulls; and whether there was room. */
type InsertOutcome = { underQuota: boolean } & (RunRecord | { [K in keyof RunRecord]: null });

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
