/** Codes of the errors the persistence layer raises; the api maps each to an HTTP status. */
export type PersistenceErrorCode =
  | 'RUN_NOT_FOUND'
  | 'RUN_TERMINAL'
  | 'LEASE_LOST'
  | 'INVALID_APPEND'
  | 'INVALID_CURSOR'
  | 'MIGRATION_FAILED'
  /** A tenant's quota (queued runs) is full: the request wrote nothing. */
  | 'QUOTA_EXCEEDED';

/**
 * An expected failure of a repository call, named by a stable `code`. A subclass fixes its code
 * (`declare readonly code`), so that a union of subclasses can be told apart by `code` (the api's
 * error mapping does).
 */
export class PersistenceError extends Error {
  override readonly name = 'PersistenceError';

  constructor(
    readonly code: PersistenceErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The run does not exist, or belongs to another tenant: callers must not tell the two apart. */
export class RunNotFoundError extends PersistenceError {
  declare readonly code: 'RUN_NOT_FOUND';

  constructor(readonly runId: string) {
    super('RUN_NOT_FOUND', `run ${runId} not found`, { runId });
  }
}

/**
 * A create found its idempotency key taken, but the run that held it was deleted before the create
 * could read it. Nothing in Runstream deletes runs; an operator may. The key is free again, so a
 * retry creates a run.
 */
export class IdempotentRunVanishedError extends PersistenceError {
  declare readonly code: 'RUN_NOT_FOUND';

  constructor(readonly idempotencyKey?: string) {
    super('RUN_NOT_FOUND', 'the run of this idempotency key was deleted while the create ran', {
      idempotencyKey,
    });
  }
}

/** The run has its terminal event: nothing may be appended to it, and it cannot be cancelled. */
export class RunTerminalError extends PersistenceError {
  declare readonly code: 'RUN_TERMINAL';

  constructor(readonly runId: string) {
    super('RUN_TERMINAL', `run ${runId} has already ended`, { runId });
  }
}

/**
 * A fenced append found the run leased to another worker, or its next seq moved: another writer
 * owns the run now, so this one must stop writing (it wrote nothing).
 */
export class LeaseLostError extends PersistenceError {
  declare readonly code: 'LEASE_LOST';

  constructor(
    readonly runId: string,
    details: { leaseOwner?: string | undefined; expectedSeq?: number | undefined },
  ) {
    super('LEASE_LOST', `run ${runId} is no longer this writer's to append to`, {
      runId,
      ...details,
    });
  }
}

/** A create would give the tenant more queued runs than it may have: nothing was written. */
export class QuotaExceededError extends PersistenceError {
  declare readonly code: 'QUOTA_EXCEEDED';

  constructor(readonly maxQueued: number) {
    super('QUOTA_EXCEEDED', `the tenant has ${maxQueued} queued runs, the most it may have`, {
      maxQueued,
    });
  }
}

/**
 * SQLSTATE classes and codes that say the database, not the statement, failed: the same statement
 * may succeed later. 08 connection exception, 53 insufficient resources (53300 too many
 * connections), 57P01..57P03 the server is shutting down or starting, 57014 a statement or lock
 * timeout cut the query, 40001/40P01 a serialization failure or deadlock.
 */
const TRANSIENT_SQLSTATE = /^(08...|53...|57P0[123]|57014|40001|40P01|55P03)$/;

/** Socket errors that node-postgres passes through with the errno as `code`. */
const TRANSIENT_ERRNO = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
]);

/**
 * node-postgres errors that carry no code: a lost connection, or a pool or query timeout; and the
 * refusal of a database closed to new connections for maintenance (`ALLOW_CONNECTIONS false`),
 * whose SQLSTATE 55000 is too broad to count as transient by itself.
 */
const TRANSIENT_MESSAGE =
  /Connection terminated|connection error|timeout exceeded when trying to connect|Query read timeout|not queryable|is not currently accepting connections/i;

/**
 * Whether a failed database call may be retried as it was: the connection or the server failed
 * (a reset, a refusal, too many clients, a restart, a pool or query timeout), not the statement.
 * A write that failed this way may still have committed; only a write that can tell (a fenced
 * append) may be retried blindly.
 */
export function isTransientDatabaseError(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 8 && current && typeof current === 'object'; depth++) {
    const e = current as { code?: unknown; message?: unknown; errors?: unknown; cause?: unknown };
    if (
      typeof e.code === 'string' &&
      (TRANSIENT_SQLSTATE.test(e.code) || TRANSIENT_ERRNO.has(e.code))
    )
      return true;
    if (typeof e.message === 'string' && TRANSIENT_MESSAGE.test(e.message)) return true;
    // Connecting to `localhost` tries each address and fails with an AggregateError of them.
    if (Array.isArray(e.errors) && e.errors.some((inner) => isTransientDatabaseError(inner)))
      return true;
    current = e.cause;
  }
  return false;
}
