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

/** SQLSTATEs after which a whole transaction may be retried as it was. */
export const RETRYABLE_SQLSTATES = {
  serializationFailure: '40001',
  deadlockDetected: '40P01',
} as const;

/** The SQLSTATE of a database error, through Prisma's and pg's wrappers; undefined for other errors. */
export function sqlState(error: unknown): string | undefined {
  // Prisma's own codes (P1000..P6999) share the shape of a SQLSTATE; PL/pgSQL's are P0xxx.
  const isSqlState = (code: unknown): code is string =>
    typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && !/^P[1-9]/.test(code);
  let current: unknown = error;
  for (let depth = 0; depth < 6 && current && typeof current === 'object'; depth++) {
    const e = current as {
      code?: unknown;
      originalCode?: unknown;
      meta?: { code?: unknown; driverAdapterError?: unknown };
      cause?: unknown;
    };
    if (isSqlState(e.originalCode)) return e.originalCode;
    if (isSqlState(e.code)) return e.code;
    if (isSqlState(e.meta?.code)) return e.meta.code;
    // Prisma 7 with a driver adapter: meta.driverAdapterError.cause.originalCode.
    current = e.meta?.driverAdapterError ?? e.cause;
  }
  return undefined;
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
 * Prisma's own codes for the same conditions: P1001 cannot reach the server, P1002 timed out,
 * P1017 the server closed the connection, P2024 no pool connection in time, P2028 a transaction
 * could not start in time.
 */
const TRANSIENT_PRISMA = new Set(['P1001', 'P1002', 'P1017', 'P2024', 'P2028']);

/**
 * How Prisma's driver adapter names the same conditions when it maps a pg error (a lost connection
 * has no SQLSTATE): `meta.driverAdapterError.cause.kind`.
 */
const TRANSIENT_ADAPTER_KIND = new Set([
  'ConnectionClosed',
  'DatabaseNotReachable',
  'TooManyConnections',
  'SocketTimeout',
  'TransactionWriteConflict',
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
    const e = current as {
      code?: unknown;
      originalCode?: unknown;
      kind?: unknown;
      message?: unknown;
      errors?: unknown;
      meta?: { code?: unknown; driverAdapterError?: unknown };
      cause?: unknown;
    };
    for (const code of [e.originalCode, e.code, e.meta?.code]) {
      if (typeof code !== 'string') continue;
      if (TRANSIENT_SQLSTATE.test(code) || TRANSIENT_ERRNO.has(code) || TRANSIENT_PRISMA.has(code))
        return true;
    }
    if (typeof e.kind === 'string' && TRANSIENT_ADAPTER_KIND.has(e.kind)) return true;
    if (typeof e.message === 'string' && TRANSIENT_MESSAGE.test(e.message)) return true;
    // Connecting to `localhost` tries each address and fails with an AggregateError of them.
    if (Array.isArray(e.errors) && e.errors.some((inner) => isTransientDatabaseError(inner)))
      return true;
    current = e.meta?.driverAdapterError ?? e.cause;
  }
  return false;
}
