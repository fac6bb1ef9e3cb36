// One vitest layout for every package: `unit` (src/**/*.test.ts, no I/O) and `int` (src/**/*.int.test.ts,
// real PostgreSQL and real processes). The int project's PostgreSQL comes in two steps: the test kit
// starts a server when TEST_DATABASE_URL is unset (Testcontainers, else embedded) and points
// TEST_DATABASE_URL at it; then the persistence package's published setup migrates a template there.
import { fileURLToPath } from 'node:url';

import { defineConfig } from 'vitest/config';

// Workspace packages resolve to their TypeScript sources (see docs/adr/0029): unit tests need no
// prior build. Vite adds this to its own conditions; the `exports` of every workspace package list it
// first, so it wins wherever it is set.
// Spread into a project of one's own config (the e2e and fault suites) for the same resolution.
const resolve = { conditions: ['@runstream/source'] };
export const workspaceSources = { resolve, ssr: { resolve } };

/** Resolved here, where the kit is a dependency, rather than from each package that uses this config. */
const POSTGRES_SERVER_SETUP = fileURLToPath(
  import.meta.resolve('@runstream/testkit/postgres-global-setup'),
);

/**
 * @param {{ int?: boolean, intTimeoutMs?: number, database?: boolean }} [options] `database: false`
 *   for an `int` project that spawns processes but needs no PostgreSQL (no global setup).
 */
export function runstreamVitestConfig(options = {}) {
  const projects = [
    {
      ...workspaceSources,
      test: {
        name: 'unit',
        include: ['src/**/*.test.ts'],
        exclude: ['src/**/*.int.test.ts', 'src/**/*.e2e.test.ts'],
      },
    },
  ];
  if (options.int) {
    projects.push({
      ...workspaceSources,
      test: {
        name: 'int',
        include: ['src/**/*.int.test.ts'],
        globalSetup:
          options.database === false
            ? []
            : [POSTGRES_SERVER_SETUP, '@runstream/persistence/testing/global-setup'],
        testTimeout: options.intTimeoutMs ?? 60_000,
        hookTimeout: 60_000,
        // Database tests share two cores with PostgreSQL: run files one after another.
        fileParallelism: false,
      },
    });
  }
  return defineConfig({ test: { projects } });
}
