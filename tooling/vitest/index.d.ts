import type { UserConfig } from 'vitest/config';

/** Resolves workspace packages to their sources (the `@runstream/source` export condition). */
export declare const workspaceSources: Pick<UserConfig, 'resolve' | 'ssr'>;

export interface RunstreamVitestOptions {
  /** Adds the `int` project: real PostgreSQL via the persistence package's global setup. */
  int?: boolean;
  /** @default 60000 */
  intTimeoutMs?: number;
  /**
   * Whether the `int` project needs PostgreSQL; `false` leaves out the global setup (a package
   * whose process tests need no database, and that must not depend on persistence).
   * @default true
   */
  database?: boolean;
}

export function runstreamVitestConfig(options?: RunstreamVitestOptions): UserConfig;
