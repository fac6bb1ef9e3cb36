// Bundles the viewer for the browser (the client library and zod included: no CDN, works offline)
// and copies the static files next to it, into dist/assets. The source map goes to dist/sourcemaps,
// outside what the api serves, and app.js does not name it: sources stay with the build.
import { cp, mkdir, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'assets');
await mkdir(out, { recursive: true });
await build({
  entryPoints: [join(root, 'src', 'app', 'main.ts')],
  outfile: join(out, 'app.js'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['chrome110', 'firefox110', 'safari16'],
  minify: true,
  sourcemap: 'external',
  legalComments: 'none',
  logLevel: 'warning',
});
await mkdir(join(root, 'dist', 'sourcemaps'), { recursive: true });
await rename(join(out, 'app.js.map'), join(root, 'dist', 'sourcemaps', 'app.js.map'));
await cp(join(root, 'static'), out, { recursive: true });
