import { StartupError, reasonOf } from './startup-error.js';

/** The one line a failed start prints: `VARIABLE: problem`, or the failure's reason when no variable is to blame. */
export function describeStartupFailure(error: unknown): string {
  if (error instanceof StartupError) return error.toLine();
  return `start-up failed: ${reasonOf(error)}`;
}

/**
 * Makes every failure during a process's start one line on stderr and exit code 1, never a stack
 * trace: a StartupError prints `VARIABLE: problem`. Call it first thing in main.ts, before reading
 * the environment, and `done()` once the process has started; from then on an uncaught error is
 * the shutdown path's (onShutdown), which logs it in full and stops the process.
 *
 * It catches what main.ts throws at top level (a rejected top-level await reaches Node as an
 * uncaught exception) and any rejection nobody handled while starting. Its listeners go first, so
 * a shutdown path registered early does not log a start-up failure as a crash.
 */
export function guardStartup(): { done(): void } {
  const fail = (error: unknown): void => {
    process.stderr.write(`${describeStartupFailure(error)}\n`);
    process.exit(1);
  };
  process.prependListener('uncaughtException', fail);
  process.prependListener('unhandledRejection', fail);
  return {
    done() {
      process.removeListener('uncaughtException', fail);
      process.removeListener('unhandledRejection', fail);
    },
  };
}
