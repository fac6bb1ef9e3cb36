import closeWithGrace from 'close-with-grace';

import type { Logger } from './logger.js';

/** The contract's bound: every process stops within this after SIGTERM or SIGINT. */
export const STOP_WITHIN_MS = 10_000;

/**
 * What the shutdown handlers of a process may take in all before it exits anyway: the contract's
 * bound less a margin for delivering the signal, the exit itself and a loaded machine. Every
 * process uses this one value, and budgets inside it (the run-worker's drain) derive from it.
 */
export const SHUTDOWN_DEADLINE_MS = STOP_WITHIN_MS - 500;

export interface ShutdownHandler {
  /** Shown in the log when the handler runs or fails. */
  name: string;
  run(): Promise<void> | void;
}

export interface ShutdownOptions {
  logger: Logger;
  /**
   * How long the handlers may take in all before the process exits anyway (code 1).
   * @default SHUTDOWN_DEADLINE_MS (9500)
   */
  deadlineMs?: number;
}

export interface Shutdown {
  /** Aborted when the shutdown begins: start-up steps still waiting give up on it. */
  readonly signal: AbortSignal;
  /** Runs the shutdown now, as a signal would. */
  close(): void;
}

class ShutdownStepsFailed extends Error {
  override readonly name = 'ShutdownStepsFailed';
}

/**
 * The one place a process stops. On SIGTERM or SIGINT the handlers run in order (stop taking work
 * first, close connections last) and the process exits 0 when all succeeded, 1 when one failed;
 * a second signal or the deadline forces exit 1. An uncaught error also runs them, then exits 1.
 *
 * Register it before the start-up steps that may wait (for a database that does not answer yet),
 * and give those steps `signal`: a stop during start-up is then as clean as one after it.
 */
export function onShutdown(
  handlers: readonly ShutdownHandler[],
  options: ShutdownOptions,
): Shutdown {
  const { logger } = options;
  const deadlineMs = options.deadlineMs ?? SHUTDOWN_DEADLINE_MS;
  const began = new AbortController();
  const graceful = closeWithGrace(
    {
      delay: deadlineMs,
      logger: false,
      onSecondSignal: (signal) => {
        logger.warn({ signal }, 'second signal: exiting now');
        process.exit(1);
      },
      onTimeout: (delay) =>
        logger.error({ delayMs: delay }, 'shutdown deadline passed: exiting now'),
    },
    async ({ signal, err }) => {
      began.abort();
      if (err) logger.error({ err }, 'fatal error: shutting down');
      else logger.info({ signal }, 'shutting down');
      const failed: string[] = [];
      for (const handler of handlers) {
        try {
          await handler.run();
        } catch (error) {
          failed.push(handler.name);
          logger.error({ err: error, handler: handler.name }, 'shutdown step failed');
        }
      }
      logger.info('stopped');
      // close-with-grace exits 0 after a clean run whatever process.exitCode says; a rejection
      // is how a failed step makes it exit 1.
      if (failed.length > 0) throw new ShutdownStepsFailed(`failed: ${failed.join(', ')}`);
    },
  );
  return { signal: began.signal, close: () => void graceful.close() };
}
