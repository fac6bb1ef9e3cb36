import { libraryConfig } from '@runstream/tsup-config';

export default libraryConfig([
  'src/index.ts',
  'src/testing/index.ts',
  'src/testing/global-setup.ts',
  'src/cli/migrate.ts',
  'src/sql/index.ts',
]);
