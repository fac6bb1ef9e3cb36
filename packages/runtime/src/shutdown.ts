import closeWithGrace from 'close-with-grace';

import type { Logger } from './logger.js';

export interface ShutdownHandler {
  /** Shown in the log when the handler runs or fails. */
  name: string;
  run(): Promise<void> | void;
}

export interface ShutdownOptions {
  logger: Logger;
  /**
   * How long the handlers may take in all before the process exits anyway (code 1).
   * @default 10000
   */
  deadlineMs?: number;
}

/**
 * The one place a process stops. On SIGTERM or SIGINT the handlers run in order (stop taking work
 * first, close connections last) and the process exits 0 when all succeeded; a second signal or
 * the deadline forces exit 1. An uncaught error also runs them, then exits 1.
 */
export function onShutdown(
  handlers: readonly ShutdownHandler[],
  options: ShutdownOptions,
): { close(): void } {
  const { logger } = options;
  const deadlineMs = options.deadlineMs ?? 10_000;
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
      if (err) logger.error({ err }, 'fatal error: shutting down');
      else logger.info({ signal }, 'shutting down');
      let failed = Boolean(err);
      for (const handler of handlers) {
        try {
          await handler.run();
        } catch (error) {
          failed = true;
          logger.error({ err: error, handler: handler.name }, 'shutdown step failed');
        }
      }
      logger.info('stopped');
      if (failed) process.exitCode = 1;
    },
  );
  return { close: () => graceful.close() };
}
