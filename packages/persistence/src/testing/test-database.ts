import { randomBytes } from 'node:crypto';

import pg from 'pg';

import { type Database, createDatabase } from '../database.js';
import { migrate } from '../migrate.js';

/**
 * The PostgreSQL server the tests create their databases on: `url` when given, else
 * TEST_DATABASE_URL (any database of a server where the role may CREATE DATABASE; the tests only
 * create and drop databases of their own, named rs_tpl_* and rs_test_*).
 */
export function testServerUrl(url = process.env.TEST_DATABASE_URL): string {
  if (!url) {
    throw new Error(
      'TEST_DATABASE_URL is unset: point it at a PostgreSQL server where the tests may create ' +
        'databases, e.g. postgres://postgres@127.0.0.1:5432/postgres',
    );
  }
  return url;
}

/** Environment variables through which the global setup tells test files where to clone from. */
export const TEST_ENV = {
  adminUrl: 'RUNSTREAM_TEST_ADMIN_URL',
  template: 'RUNSTREAM_TEST_TEMPLATE',
} as const;

/** Replaces the database name in a connection string. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

async function admin<T>(adminUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({
    connectionString: adminUrl,
    application_name: 'runstream-test-admin',
  });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
}

/** Creates and migrates a template database; the returned name is what test databases clone. */
export async function createTemplateDatabase(adminUrl: string): Promise<string> {
  const name = uniqueName('rs_tpl');
  await admin(adminUrl, async (c) => {
    await dropOrphans(c);
    await c.query(`CREATE DATABASE "${name}"`);
  });
  await migrate({ url: withDatabase(adminUrl, name) });
  return name;
}

export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  await admin(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
}

/**
 * Test databases and templates carry the pid of the test process that made them. A run that was
 * killed leaves its databases behind; the next run drops those whose process is gone.
 */
async function dropOrphans(c: pg.Client): Promise<void> {
  const { rows } = await c.query<{ datname: string }>(
    `SELECT datname FROM pg_database WHERE datname ~ '^rs_(tpl|test)_[0-9]+_[0-9a-f]+$'`,
  );
  for (const { datname } of rows) {
    if (!processExists(Number(datname.split('_')[2])))
      await c.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`).catch(() => undefined);
  }
}

/** Signal 0 checks without signalling: EPERM means the process exists but belongs to another user. */
const processExists = (pid: number): boolean => {
  try {
    return process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** A fresh, migrated database of its own for one test file. */
export interface TestDatabase {
  url: string;
  name: string;
  /** Drops the database, closing whatever connections remain. */
  drop(): Promise<void>;
}

/**
 * Clones the migrated template into a new database (fast: a file copy, no migration). Needs the
 * vitest global setup `@runstream/persistence/testing/global-setup`.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = process.env[TEST_ENV.adminUrl];
  const template = process.env[TEST_ENV.template];
  if (!adminUrl || !template) {
    throw new Error(
      'no test database template: add @runstream/persistence/testing/global-setup to vitest globalSetup (with TEST_DATABASE_URL set)',
    );
  }
  const name = uniqueName('rs_test');
  await admin(adminUrl, (c) =>
    c.query(`CREATE DATABASE "${name}" TEMPLATE "${template}" STRATEGY FILE_COPY`),
  );
  return {
    url: withDatabase(adminUrl, name),
    name,
    async drop() {
      const left = await connectionsLeft(adminUrl, name);
      await dropDatabase(adminUrl, name);
      if (left.length > 0) {
        throw new Error(
          `the test left ${left.length} connection(s) open to its database ${name} ` +
            `(application_name: ${[...new Set(left)].join(', ') || 'unset'}): ` +
            'close every pool, client, bus and worker it opened, or stop the processes it spawned, before the drop',
        );
      }
    },
  };
}

/**
 * The leak check: the application_name of each connection to `database` still open, once the
 * backends of connections closed a moment ago have had up to `graceMs` to exit.
 */
async function connectionsLeft(
  adminUrl: string,
  database: string,
  graceMs = 2_000,
): Promise<string[]> {
  return admin(adminUrl, async (c) => {
    const deadline = Date.now() + graceMs;
    for (;;) {
      const { rows } = await c.query<{ application_name: string }>(
        'SELECT application_name FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
        [database],
      );
      if (rows.length === 0 || Date.now() > deadline) return rows.map((r) => r.application_name);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });
}

/** A test database with the process's Database (its pool) opened on it. */
export interface TestDatabaseWithClient extends TestDatabase {
  db: Database;
}

export async function openTestDatabase(
  options: { poolSize?: number } = {},
): Promise<TestDatabaseWithClient> {
  const testDb = await createTestDatabase();
  const db = createDatabase({
    url: testDb.url,
    poolSize: options.poolSize ?? 10,
    applicationName: 'runstream-test',
  });
  return {
    ...testDb,
    db,
    async drop() {
      await db.close();
      await testDb.drop();
    },
  };
}

/**
 * Makes a test database unreachable for the processes named `applicationName` (a prefix of their
 * pg_stat_activity application_name), at the server's edge: the database refuses every new
 * connection, and their open connections are ended. The test's own open connections stay usable.
 * `restore()` lets connections in again.
 */
export async function refuseConnections(
  database: Pick<TestDatabase, 'name'>,
  applicationName: string,
): Promise<{ ended: number; restore(): Promise<void> }> {
  const adminUrl = process.env[TEST_ENV.adminUrl];
  if (!adminUrl) throw new Error('no test database server: see createTestDatabase');
  const ended = await admin(adminUrl, async (c) => {
    await c.query(`ALTER DATABASE "${database.name}" WITH ALLOW_CONNECTIONS false`);
    const { rows } = await c.query<{ n: number }>(
      `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
        WHERE datname = $1 AND starts_with(application_name, $2)`,
      [database.name, applicationName],
    );
    return rows[0]?.n ?? 0;
  });
  return {
    ended,
    restore: () =>
      admin(adminUrl, async (c) => {
        await c.query(`ALTER DATABASE "${database.name}" WITH ALLOW_CONNECTIONS true`);
      }),
  };
}
