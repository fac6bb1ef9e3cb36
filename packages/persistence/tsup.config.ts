import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

import { libraryConfig } from '@runstream/tsup-config';

const require = createRequire(import.meta.url);
const prismaClientDir = dirname(require.resolve('@prisma/client/package.json'));
/** The Prisma Client runtime and the utils it imports: compiled into dist, never installed. */
const PRISMA_RUNTIME = /^@prisma\/client(\/|-runtime-utils$)/;

export default libraryConfig(
  [
    'src/index.ts',
    'src/testing/index.ts',
    'src/testing/global-setup.ts',
    'src/cli/migrate.ts',
    'src/sql/index.ts',
  ],
  {
    // The generated client needs about 5 MB of the 71 MB @prisma/client package (its runtime and
    // the PostgreSQL query compiler; the package ships compilers for five databases). Bundling those
    // here keeps every deploy of a Runstream process free of the package and of the Prisma CLI,
    // TypeScript and Studio that pnpm links to it as optional peers; the declarations are inlined
    // the same way, so nothing that imports this package needs @prisma/client, not even for types.
    noExternal: [PRISMA_RUNTIME],
    dts: { resolve: [PRISMA_RUNTIME] },
    esbuildPlugins: [
      {
        // Under the `node` condition @prisma/client exports its CommonJS build, whose require()s of
        // Node built-ins cannot run inside an ES module bundle: take the ESM build of the same code.
        name: 'prisma-runtime-esm',
        setup(build) {
          build.onResolve({ filter: /^@prisma\/client\/runtime\/client$/ }, () => ({
            path: join(prismaClientDir, 'runtime', 'client.mjs'),
          }));
        },
      },
    ],
  },
);
