import type { UserConfig } from 'vitest/config';

export interface RunstreamVitestOptions {
  /** Adds the `int` project: real PostgreSQL via the persistence package's global setup. */
  int?: boolean;
  /** @default 60000 */
  intTimeoutMs?: number;
}

export function runstreamVitestConfig(options?: RunstreamVitestOptions): UserConfig;
