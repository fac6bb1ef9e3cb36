import { type Repositories, createRepositories } from '../repositories.js';
import { type TestDatabaseWithClient, openTestDatabase } from './test-database.js';

/**
 * The two lifecycle hooks of the test framework in use: vitest's and jest's `beforeAll`/`afterAll`,
 * or `before`/`after` of node:test. Passed in, so that this package depends on no test framework.
 */
export interface FileHooks {
  beforeAll(fn: () => Promise<void>): void;
  afterAll(fn: () => Promise<void>): void;
}

/** A test file's own database, usable from its first test on. */
export interface UsedTestDatabase {
  readonly url: string;
  readonly name: string;
  /** The process's Database (Prisma + pool) on it. */
  readonly db: TestDatabaseWithClient['db'];
  /**
   * The repositories as the processes wire them, on `db`. Usable before the hook ran, as a stand-in
   * that reaches the real ones when a test calls it: `const repos = t.repos` at a file's top level.
   */
  readonly repos: Repositories;
}

/**
 * The test-database fixture of a test file: before its tests, a database cloned from the migrated
 * template, with a Database and the repositories on it; after them, the Database is closed and the
 * database dropped. The drop is the leak check: a connection still open to the database by then (a
 * pool, a bus, a worker or a process the file forgot) fails the file, naming its application_name.
 *
 *     import { afterAll, beforeAll } from 'vitest';
 *     const t = useTestDatabase({ beforeAll, afterAll }, { poolSize: 4 });
 *     it('…', async () => { await t.repos.runs.create(…); });
 */
export function useTestDatabase(
  hooks: FileHooks,
  options: { poolSize?: number } = {},
): UsedTestDatabase {
  let opened: { database: TestDatabaseWithClient; repos: Repositories } | undefined;
  const get = (): NonNullable<typeof opened> => {
    if (!opened)
      throw new Error('the test database is opened in beforeAll: use it inside tests or hooks');
    return opened;
  };
  hooks.beforeAll(async () => {
    const database = await openTestDatabase(options);
    opened = { database, repos: createRepositories(database.db) };
  });
  hooks.afterAll(async () => {
    const current = opened;
    opened = undefined;
    await current?.database.drop();
  });
  const repos = new Proxy({} as Repositories, {
    get: (_, key) => Reflect.get(get().repos, key) as unknown,
  });
  return {
    repos,
    get url() {
      return get().database.url;
    },
    get name() {
      return get().database.name;
    },
    get db() {
      return get().database.db;
    },
  };
}
