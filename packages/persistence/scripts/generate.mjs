// Generates the Prisma client and the models' zod schemas from /prisma/schema.prisma, and copies the
// migrations into this package so that it carries them when published or deployed.
//
// The Prisma CLI insists on a native schema engine even for `generate`, which is pure WASM; on an
// air-gapped machine that download fails. Naming any existing file as the engine skips it.
import { execFileSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const pkg = join(here, '..');
const root = join(pkg, '..', '..');
const require = createRequire(import.meta.url);

const env = { ...process.env, PRISMA_HIDE_UPDATE_MESSAGE: '1', CHECKPOINT_DISABLE: '1' };
env.PRISMA_SCHEMA_ENGINE_BINARY ??= process.execPath;
// The zod generator is found as a binary of this package.
env.PATH = [join(pkg, 'node_modules', '.bin'), env.PATH].join(':');

try {
  execFileSync(
    process.execPath,
    [
      require.resolve('prisma/build/index.js'),
      'generate',
      '--schema',
      join(root, 'prisma', 'schema.prisma'),
    ],
    { cwd: pkg, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
} catch (error) {
  process.stderr.write(`${error.stdout ?? ''}${error.stderr ?? ''}`);
  process.exit(1);
}

rmSync(join(pkg, 'migrations'), { recursive: true, force: true });
cpSync(join(root, 'prisma', 'migrations'), join(pkg, 'migrations'), { recursive: true });
