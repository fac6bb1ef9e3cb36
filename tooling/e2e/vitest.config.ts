import { workspaceSources } from '@runstream/vitest-config';
import { defineConfig } from 'vitest/config';

// Each file spawns real processes (and PostgreSQL, and Chromium): one file at a time on two cores.
export default defineConfig({
  test: {
    projects: [
      {
        ...workspaceSources,
        test: {
          name: 'e2e',
          include: ['src/**/*.e2e.test.ts'],
          // The kit starts a PostgreSQL when TEST_DATABASE_URL is unset; then a template is migrated.
          globalSetup: [
            '@runstream/testkit/postgres-global-setup',
            '@runstream/persistence/testing/global-setup',
          ],
          testTimeout: 180_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
