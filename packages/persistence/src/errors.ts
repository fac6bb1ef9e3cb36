/** Codes of the errors the persistence layer raises; the api maps each to an HTTP status. */
export type PersistenceErrorCode =
  | 'RUN_NOT_FOUND'
  | 'RUN_TERMINAL'
  | 'INVALID_APPEND'
  | 'INVALID_CURSOR'
  | 'MIGRATION_FAILED'
  /** A tenant's quota (queued runs) is full: the request wrote nothing. */
  | 'QUOTA_EXCEEDED';

/** An expected failure of a repository call, named by a stable `code`. */
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
  constructor(readonly runId: string) {
    super('RUN_NOT_FOUND', `run ${runId} not found`, { runId });
  }
}

/** The run has its terminal event: nothing may be appended to it, and it cannot be cancelled. */
export class RunTerminalError extends PersistenceError {
  constructor(readonly runId: string) {
    super('RUN_TERMINAL', `run ${runId} has already ended`, { runId });
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
