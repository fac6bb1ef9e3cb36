import { execFile } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  realpathSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';

import {
  type TestDatabaseWithClient,
  createRepos,
  freePort,
  openTestDatabase,
  waitFor,
} from '@runstream/persistence/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ROOT, type Spawned, spawnNode, stop } from './processes.js';

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
  });
  afterAll(async () => {
    for (const s of running) await stop(s);
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each(APPS)(
    '$app runs from its deploy folder alone and shows it is ready',
    async ({ app, portVar, runsARun }) => {
      const target = join(dir, app);
      await run('pnpm', ['--filter', `@runstream/${app}`, 'deploy', '--prod', target], {
        cwd: ROOT,
        timeout: 170_000,
      });
      expect(existsSync(join(target, 'dist', 'main.js'))).toBe(true);
      expect(linksOutside(target)).toEqual([]);

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
      if (runsARun) {
        const repos = createRepos(database.db);
        const { run: created } = await repos.runs.create({
          tenant: 'default',
          graph: 'synthetic',
          input: { events: 3 },
          firstEvent: { type: 'run.queued', data: { graph: 'synthetic' } },
        });
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
