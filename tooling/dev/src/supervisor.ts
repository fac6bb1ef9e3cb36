import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { styleText } from 'node:util';

import {
  APPS,
  type AppName,
  type EmbeddedPostgres,
  ROOT,
  type Spawned,
  portFree,
  running,
  spawnApp,
  startEmbeddedPostgres,
  stop,
  waitFor,
} from '@runstream/testkit';
import pg from 'pg';

import { createAppLog } from './app-log.js';
import { graphModulesFrom, parseStartEnv } from './start-env.js';
import { takeLock } from './state-lock.js';

const COLORS: Record<AppName, 'cyan' | 'magenta' | 'yellow'> = {
  api: 'cyan',
  'outbox-worker': 'magenta',
  'run-worker': 'yellow',
};

/** How long an app may take to drain on SIGTERM before it is killed (its own deadline is 10 s). */
const APP_STOP_MS = 12_000;

/**
 * The supervisor: owns the embedded PostgreSQL and the three apps, prints their logs, and stops
 * them in order (apps first, PostgreSQL last) on the first signal, at once on the second.
 */
export async function supervise(): Promise<void> {
  const colorize = Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;
  const paint = (style: Parameters<typeof styleText>[0], text: string): string =>
    colorize ? styleText(style, text) : text;
  const say = (line: string): void =>
    void process.stdout.write(`${paint('bold', '[start]')} ${line}\n`);
  const fail = (line: string): void =>
    void process.stderr.write(`${paint('red', '[start]')} ${line}\n`);

  const parsed = parseStartEnv(process.env);
  if (!parsed.ok) {
    fail(parsed.problem);
    process.exit(1);
  }
  const { env } = parsed;
  const browseHost =
    env.HOST === '0.0.0.0' || env.HOST === '::'
      ? '127.0.0.1'
      : env.HOST.includes(':')
        ? `[${env.HOST}]`
        : env.HOST;
  const baseUrl = `http://${browseHost}:${env.PORT}`;

  mkdirSync(env.RUNSTREAM_HOME, { recursive: true });
  const lockFile = join(env.RUNSTREAM_HOME, 'start.json');
  const lock = takeLock(lockFile, baseUrl, say);
  if (!lock.taken) {
    const { holder } = lock;
    fail(
      `Runstream is already running (pid ${holder.pid}, started ${holder.startedAt}): viewer at ${holder.url}/\n` +
        `        Use that one, or stop it first (Ctrl-C in its terminal, or kill ${holder.pid}).`,
    );
    process.exit(1);
  }

  const apps = new Map<AppName, Spawned>();
  let postgres: EmbeddedPostgres | undefined;
  let stopping = false;
  let signals = 0;

  const stopAll = async (code: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    say('stopping…');
    await Promise.all([...apps.values()].map((app) => stop(app, APP_STOP_MS)));
    if (postgres) {
      await postgres
        .close()
        .catch((error: unknown) =>
          fail(`embedded PostgreSQL did not stop cleanly: ${(error as Error).message}`),
        );
      say('embedded PostgreSQL stopped');
    }
    rmSync(lockFile, { force: true });
    say(code === 0 ? 'stopped' : `stopped (exit ${code})`);
    process.exit(code);
  };
  const onSignal = (): void => {
    signals += 1;
    if (signals === 1) void stopAll(0);
    else {
      say('second signal: killing the processes now');
      for (const app of apps.values()) app.child.kill('SIGKILL');
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // Should the supervisor itself die of a bug, it takes its apps along rather than orphan them.
  process.on('exit', () => {
    for (const app of apps.values()) if (running(app)) app.child.kill('SIGKILL');
  });

  try {
    if (env.RUNSTREAM_SKIP_BUILD !== '1') build(say);

    let databaseUrl = env.DATABASE_URL;
    let databaseNote = '(from DATABASE_URL)';
    if (!databaseUrl) {
      postgres = await startEmbeddedPostgres({
        dir: join(env.RUNSTREAM_HOME, 'pg'),
        port: env.RUNSTREAM_PG_PORT,
        maxConnections: 100,
        onInit: (dir) => say(`creating the embedded PostgreSQL in ${dir} (first start only)…`),
        onNote: say,
      });
      say(`embedded PostgreSQL on 127.0.0.1:${postgres.port}`);
      await createDatabase(postgres.adminUrl, 'runstream');
      databaseUrl = postgres.url('runstream');
      databaseNote = `(embedded, data in ${relative(process.cwd(), postgres.dir) || postgres.dir})`;
    }

    // Imported after the build: on a fresh clone its dist does not exist before.
    const { migrate } = await import('@runstream/persistence');
    const migrated = await migrate({ url: databaseUrl });
    say(`migrations: ${migrated.applied.length} applied, ${migrated.skipped.length} already there`);

    if (!(await portFree(env.PORT, env.HOST))) {
      fail(
        `PORT: ${env.PORT} on ${env.HOST} is taken by another program: stop it, or start on another port (PORT=${env.PORT + 1} pnpm start)`,
      );
      await stopAll(1);
      return;
    }

    const appEnv: NodeJS.ProcessEnv = {
      ...process.env,
      DATABASE_URL: databaseUrl,
      HOST: env.HOST,
      PORT: String(env.PORT),
      // Two stacks on one machine must not collide on the workers' fixed default ports.
      RUNSTREAM_OUTBOX_METRICS_PORT: process.env.RUNSTREAM_OUTBOX_METRICS_PORT ?? '0',
      RUNSTREAM_RUN_WORKER_METRICS_PORT: process.env.RUNSTREAM_RUN_WORKER_METRICS_PORT ?? '0',
      // Each app runs in its own folder: a graph module given by a relative path is the caller's.
      ...(process.env.RUNSTREAM_GRAPHS
        ? { RUNSTREAM_GRAPHS: graphModulesFrom(process.cwd(), process.env.RUNSTREAM_GRAPHS) }
        : {}),
    };
    for (const name of APPS) {
      const app = spawnApp(name, {
        env: appEnv,
        onLine: createAppLog(name, COLORS[name], {
          colorize,
          write: (text) => void process.stdout.write(text),
        }),
      });
      apps.set(name, app);
      void app.exited.then(({ code, signal }) => {
        if (stopping) return;
        fail(`${name} exited (${signal ?? `code ${code}`}); stopping everything`);
        void stopAll(1);
      });
    }

    await waitFor(
      `the api to answer ${baseUrl}/readyz`,
      async () =>
        stopping || (await fetch(`${baseUrl}/readyz`, { signal: AbortSignal.timeout(2000) })).ok,
      60_000,
      200,
    );
    if (stopping) return;
    await waitFor(
      'the run-worker to register its graphs',
      async () => stopping || (await builtInGraphsRegistered(databaseUrl)),
      60_000,
      200,
    );
    if (stopping) return;
    process.stdout.write(
      [
        '',
        paint('bold', 'Runstream is running.'),
        `  viewer:    ${baseUrl}/`,
        `  database:  ${redact(databaseUrl)} ${databaseNote}`,
        `  try:       curl -s -X POST ${baseUrl}/v1/runs -H 'content-type: application/json' -d '{"graph":"demo"}'`,
        `             pnpm --silent runstream runs create synthetic --input '{"events": 50, "delayMs": 20}'`,
        `             pnpm --silent runstream tail <run id>`,
        '  Ctrl-C stops everything.',
        '',
      ].join('\n') + '\n',
    );
  } catch (error) {
    fail(error instanceof Error ? error.message : String(error));
    await stopAll(1);
  }
}

function build(say: (line: string) => void): void {
  say('building (turbo: only what changed; the first start compiles everything, about a minute)…');
  const filters = [...APPS.map((app) => `@runstream/${app}`), '@runstream/client'].map(
    (p) => `--filter=${p}...`,
  );
  const result = spawnSync(
    join(ROOT, 'node_modules', '.bin', 'turbo'),
    ['run', 'build', ...filters, '--output-logs=errors-only'],
    { cwd: ROOT, stdio: 'inherit' },
  );
  if (result.status !== 0)
    throw new Error('build failed (see above); fix it, or run `pnpm build` to see every step');
}

async function createDatabase(adminUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount === 0) await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
}

function redact(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}

/** Whether a run-worker has registered demo and synthetic: until then the api refuses their runs. */
async function builtInGraphsRegistered(databaseUrl: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM graph_registrations
        WHERE name IN ('demo', 'synthetic') AND live_until > now()`,
    );
    return rows[0]?.n === 2;
  } finally {
    await client.end();
  }
}
