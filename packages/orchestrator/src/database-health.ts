import { isTransientDatabaseError } from '@runstream/persistence';

/** The slice of a pino logger the worker uses. */
export interface WorkerLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/**
 * One worker's view of its database, shared by its loops and its runs' appends, so that an outage
 * is one warning when it starts and one line when it ends, not a stack trace per loop every poll
 * (the security review saw one every 250 ms).
 */
export interface DatabaseHealth {
  /** A database call failed; `where` names the loop or the write. */
  failed(error: unknown, where: string): void;
  /** A database call succeeded. */
  ok(): void;
  readonly down: boolean;
}

export function createDatabaseHealth(logger: WorkerLogger): DatabaseHealth {
  let downSince: number | undefined;
  return {
    get down() {
      return downSince !== undefined;
    },
    failed(error, where) {
      if (!isTransientDatabaseError(error)) {
        // Not an outage but a fault of its own (a bug, a constraint): every one is worth a line.
        logger.error({ err: error, where }, `${where} failed`);
        return;
      }
      if (downSince !== undefined) return;
      downSince = Date.now();
      logger.warn(
        { where, reason: describe(error) },
        'database unreachable: claims, leases and appends wait and retry with backoff',
      );
    },
    ok() {
      if (downSince === undefined) return;
      logger.info({ downMs: Date.now() - downSince }, 'database reachable again');
      downSince = undefined;
    },
  };
}

/** The message and code of an error, without its stack. */
function describe(error: unknown): { message: string; code?: string } {
  if (!(error instanceof Error)) return { message: String(error) };
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? { message: error.message, code } : { message: error.message };
}
