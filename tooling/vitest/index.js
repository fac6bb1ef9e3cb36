// One vitest layout for every package: `unit` (src/**/*.test.ts, no I/O) and `int` (src/**/*.int.test.ts,
// real PostgreSQL through the persistence package's global setup, and real processes).
import { defineConfig } from 'vitest/config';

// Workspace packages resolve to their TypeScript sources (see docs/adr/0029): unit tests need no
// prior build. Vite adds this to its own conditions; the `exports` of every workspace package list it
// first, so it wins wherever it is set.
// Spread into a project of one's own config (the e2e and fault suites) for the same resolution.
const resolve = { conditions: ['@runstream/source'] };
export const workspaceSources = { resolve, ssr: { resolve } };

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
          options.database === false ? [] : ['@runstream/persistence/testing/global-setup'],
        testTimeout: options.intTimeoutMs ?? 60_000,
        hookTimeout: 60_000,
        // Database tests share two cores with PostgreSQL: run files one after another.
        fileParallelism: false,
      },
    });
  }
  return defineConfig({ test: { projects } });
}
