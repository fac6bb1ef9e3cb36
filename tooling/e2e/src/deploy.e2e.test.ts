import { execFile } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdtempSync,
  readdirSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';

import { createGraphCatalog, createRun } from '@runstream/graph-catalog';
import { registerBuiltInGraphs } from '@runstream/graphs/testing';
import {
  type TestDatabaseWithClient,
  createRepos,
  openTestDatabase,
} from '@runstream/persistence/testing';
import { ROOT, type Spawned, freePort, spawnNode, stop, waitFor } from '@runstream/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);

/**
 * Each app and how it shows it is ready: the variable that sets the port of its endpoint. Every app
 * answers /readyz once its database (and bus) answer; the run-worker also proves itself by running a run.
 */
const APPS = [
  { app: 'api', portVar: 'PORT', runsARun: false },
  { app: 'outbox-worker', portVar: 'RUNSTREAM_OUTBOX_METRICS_PORT', runsARun: false },
  { app: 'run-worker', portVar: 'RUNSTREAM_RUN_WORKER_METRICS_PORT', runsARun: true },
] as const;

/** A deploy folder's budget on disk, counted as `du` counts it (allocated blocks, hard links once). */
const MAX_DEPLOY_BYTES = 100 * 1024 * 1024;

/**
 * Packages a running process never loads: the Prisma CLI and what it brings (Studio, effect,
 * PGlite), TypeScript, and the @prisma/client package itself, whose runtime persistence compiles in.
 */
const BUILD_TOOLING = [
  'prisma',
  '@prisma/client',
  '@prisma/studio-core',
  '@prisma/dev',
  'typescript',
  'effect',
  '@electric-sql/pglite',
  'react-dom',
];

/** Bytes on disk under `dir`, each inode once, symlinks not followed (what `du -s` reports). */
function diskUsage(dir: string): number {
  const seen = new Set<string>();
  let bytes = 0;
  const walk = (path: string): void => {
    const stat = lstatSync(path);
    const inode = `${stat.dev}:${stat.ino}`;
    if (seen.has(inode)) return;
    seen.add(inode);
    bytes += stat.blocks * 512;
    if (stat.isDirectory()) for (const entry of readdirSync(path)) walk(join(path, entry));
  };
  walk(dir);
  return bytes;
}

/** The package names installed in a deploy folder's virtual store (`node_modules/.pnpm`). */
function installedPackages(dir: string): string[] {
  const names = new Set<string>();
  const store = join(dir, 'node_modules', '.pnpm');
  for (const entry of readdirSync(store)) {
    const modules = join(store, entry, 'node_modules');
    if (!existsSync(modules)) continue;
    for (const name of readdirSync(modules)) {
      if (!name.startsWith('@')) names.add(name);
      else for (const sub of readdirSync(join(modules, name))) names.add(`${name}/${sub}`);
    }
  }
  return [...names].sort();
}

/** Test files and TypeScript sources in the app and in Runstream's own packages: a deploy runs JavaScript. */
function sourcesAndTests(dir: string): string[] {
  const found: string[] = [];
  const walk = (path: string): void => {
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      const full = join(path, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (/\.test\.[cm]?[jt]s$|(?<!\.d)\.[cm]?ts$/.test(entry.name))
        found.push(relative(dir, full));
    }
  };
  walk(join(dir, 'dist'));
  if (existsSync(join(dir, 'src'))) found.push('src/');
  // Third-party packages ship what their authors chose; Runstream's own are held to the rule.
  const store = join(dir, 'node_modules', '.pnpm');
  for (const entry of readdirSync(store)) {
    if (!entry.startsWith('@runstream+')) continue;
    const scope = join(store, entry, 'node_modules', '@runstream');
    for (const name of readdirSync(scope)) {
      const pkg = join(scope, name);
      if (!lstatSync(pkg).isSymbolicLink()) walk(pkg);
    }
  }
  return found;
}

/** Every symlink under `dir` that resolves outside it: a deploy folder must hold all it needs. */
function linksOutside(dir: string): string[] {
  const outside: string[] = [];
  const root = realpathSync(dir);
  const walk = (path: string): void => {
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      const full = join(path, entry.name);
      if (entry.isSymbolicLink()) {
        const target = realpathSync(full);
        if (relative(root, target).startsWith('..'))
          outside.push(`${relative(root, full)} -> ${target}`);
        if (statSync(full).isDirectory() && !relative(root, target).startsWith('..')) continue;
      } else if (entry.isDirectory()) walk(full);
    }
  };
  walk(root);
  return outside;
}

describe('per-app deploy (pnpm --filter <app> deploy --prod <folder>)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'runstream-deploy-'));
  chmodSync(dir, 0o755);
  let database: TestDatabaseWithClient;
  const running: Spawned[] = [];

  beforeAll(async () => {
    database = await openTestDatabase({ poolSize: 2 });
    // The api deploy is checked before any run-worker started: register what a stock worker serves.
    await registerBuiltInGraphs(createRepos(database.db).graphs);
  });
  afterAll(async () => {
    for (const s of running) await stop(s);
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each(APPS)(
    '$app deploys lean (at most 100 MB, no build tooling, sources or tests), runs from its folder alone and shows it is ready',
    async ({ app, portVar, runsARun }) => {
      const built = join(dir, `${app}.built`);
      await run('pnpm', ['--filter', `@runstream/${app}`, 'deploy', '--prod', built], {
        cwd: ROOT,
        timeout: 170_000,
      });
      expect(existsSync(join(built, 'dist', 'main.js'))).toBe(true);
      expect(linksOutside(built)).toEqual([]);
      expect(sourcesAndTests(built)).toEqual([]);
      expect(installedPackages(built).filter((name) => BUILD_TOOLING.includes(name))).toEqual([]);
      if (app === 'api') {
        // The api holds no graph code: no executor, no graphs, not even as a transitive dependency.
        expect(
          installedPackages(built).filter((name) =>
            ['@runstream/orchestrator', '@runstream/graphs'].includes(name),
          ),
        ).toEqual([]);
      }
      const megabytes = diskUsage(built) / 1024 / 1024;
      expect(megabytes, `${app} deploy folder, MB`).toBeLessThanOrEqual(
        MAX_DEPLOY_BYTES / 1024 / 1024,
      );
      // A deploy folder is copied into an image or moved as an artifact: run it from elsewhere.
      const target = join(dir, app);
      renameSync(built, target);

      const port = await freePort();
      // Only what a container would set: no repository paths, no NODE_PATH, no inherited test variables.
      const env: NodeJS.ProcessEnv = {
        PATH: process.env.PATH,
        HOME: target,
        DATABASE_URL: database.url,
        RUNSTREAM_BUS: 'postgres',
        RUNSTREAM_OUTBOX_METRICS_PORT: '0',
        RUNSTREAM_RUN_WORKER_METRICS_PORT: '0',
      };
      env[portVar] = String(port);
      const proc = spawnNode(['dist/main.js'], { cwd: target, env });
      running.push(proc);
      const alive = (): void => {
        if (proc.child.exitCode !== null) throw new Error(`${app} exited:\n${proc.output()}`);
      };
      const status = await waitFor(`${app} to answer /readyz`, async () => {
        alive();
        const response = await fetch(`http://127.0.0.1:${port}/readyz`);
        return response.ok && response.status;
      });
      expect(status).toBe(200);
      if (app === 'api') {
        // A run created and read back through the api: a Prisma query through the Prisma runtime
        // that persistence bundles, from the deploy folder.
        const created = await fetch(`http://127.0.0.1:${port}/v1/runs`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ graph: 'synthetic', input: { events: 1 } }),
        });
        expect(created.status).toBe(201);
        const { id } = (await created.json()) as { id: string };
        const read = await fetch(`http://127.0.0.1:${port}/v1/runs/${id}`);
        expect(read.status).toBe(200);
        expect(((await read.json()) as { id: string }).id).toBe(id);
      }
      if (runsARun) {
        const repos = createRepos(database.db);
        const { run: created } = await createRun(
          { runs: repos.runs, catalog: createGraphCatalog({ registry: repos.graphs }) },
          { tenant: 'default', graph: 'synthetic', input: { events: 3 } },
        );
        const ended = await waitFor(`${app} to run a run`, async () => {
          alive();
          const run = await repos.runs.get('default', created.id);
          return run.status === 'succeeded' || run.status === 'failed' ? run.status : undefined;
        });
        expect(ended).toBe('succeeded');
      }
      proc.child.kill('SIGTERM');
      expect((await proc.exited).code).toBe(0);
    },
  );
});
