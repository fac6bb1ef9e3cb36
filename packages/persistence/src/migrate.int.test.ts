import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';

import { DEFAULT_MIGRATIONS_DIR, migrate } from './migrate.js';
import { TEST_ENV, dropDatabase, withDatabase } from './testing/index.js';

const adminUrl = (): string => process.env[TEST_ENV.adminUrl]!;
const created: string[] = [];

async function emptyDatabase(): Promise<string> {
  const name = `rs_test_${process.pid}_${Math.random().toString(16).slice(2, 10)}`;
  const c = new pg.Client({ connectionString: adminUrl() });
  await c.connect();
  await c.query(`CREATE DATABASE "${name}"`);
  await c.end();
  created.push(name);
  return withDatabase(adminUrl(), name);
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(sql)).rows;
  } finally {
    await c.end();
  }
}

afterEach(async () => {
  while (created.length) await dropDatabase(adminUrl(), created.pop()!);
});

describe('migrate', () => {
  it('applies every migration once and records it as prisma migrate deploy does', async () => {
    const url = await emptyDatabase();
    const names = (await readdir(DEFAULT_MIGRATIONS_DIR, { withFileTypes: true }))
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
    expect(names.length).toBeGreaterThan(0);

    const first = await migrate({ url });
    expect(first).toEqual({ applied: names, skipped: [] });
    const second = await migrate({ url });
    expect(second).toEqual({ applied: [], skipped: names });

    const rows = await query<{
      migration_name: string;
      checksum: string;
      finished_at: Date | null;
      applied_steps_count: number;
    }>(
      url,
      'SELECT migration_name, checksum, finished_at, applied_steps_count FROM _prisma_migrations ORDER BY migration_name',
    );
    const checksums = await Promise.all(
      names.map(async (n) =>
        createHash('sha256')
          .update(await readFile(join(DEFAULT_MIGRATIONS_DIR, n, 'migration.sql'), 'utf8'))
          .digest('hex'),
      ),
    );
    expect(rows.map((r) => [r.migration_name, r.checksum, r.applied_steps_count])).toEqual(
      names.map((n, i) => [n, checksums[i], 1]),
    );
    expect(rows.every((r) => r.finished_at instanceof Date)).toBe(true);
  });

  it('lets concurrent starters migrate the same database: the advisory lock serializes them', async () => {
    const url = await emptyDatabase();
    const results = await Promise.all([migrate({ url }), migrate({ url }), migrate({ url })]);
    expect(results.map((r) => r.applied.length).sort()).toEqual([
      0,
      0,
      results.flatMap((r) => r.applied).length,
    ]);
    const rows = await query<{ n: number }>(
      url,
      'SELECT count(*)::int AS n FROM _prisma_migrations',
    );
    expect(rows[0]!.n).toBe(results.flatMap((r) => r.applied).length);
  });

  it('rolls a failing migration back whole and records nothing, so a fixed file can be applied', async () => {
    const url = await emptyDatabase();
    const dir = await mkdtemp(join(tmpdir(), 'rs-migrations-'));
    await mkdir(join(dir, '20990101000000_ok'));
    await writeFile(join(dir, '20990101000000_ok', 'migration.sql'), 'CREATE TABLE a (id int);');
    await mkdir(join(dir, '20990102000000_bad'));
    await writeFile(
      join(dir, '20990102000000_bad', 'migration.sql'),
      'CREATE TABLE b (id int); SELECT no_such_function();',
    );

    await expect(migrate({ url, migrationsDir: dir })).rejects.toMatchObject({
      code: 'MIGRATION_FAILED',
    });
    const tables = await query<{ t: string }>(
      url,
      `SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`,
    );
    expect(tables.map((r) => r.t)).toEqual(['_prisma_migrations', 'a']);
    const recorded = await query<{ m: string }>(
      url,
      'SELECT migration_name AS m FROM _prisma_migrations',
    );
    expect(recorded.map((r) => r.m)).toEqual(['20990101000000_ok']);

    await writeFile(join(dir, '20990102000000_bad', 'migration.sql'), 'CREATE TABLE b (id int);');
    expect(await migrate({ url, migrationsDir: dir })).toEqual({
      applied: ['20990102000000_bad'],
      skipped: ['20990101000000_ok'],
    });
  });

  it('refuses to go on past a migration recorded as started but never finished', async () => {
    const url = await emptyDatabase();
    await migrate({ url });
    await query(
      url,
      `INSERT INTO _prisma_migrations (id, checksum, migration_name) VALUES ('x', 'y', '99999999999999_half_done')`,
    );
    const dir = await mkdtemp(join(tmpdir(), 'rs-migrations-'));
    await mkdir(join(dir, '99999999999999_half_done'));
    await writeFile(join(dir, '99999999999999_half_done', 'migration.sql'), 'SELECT 1;');
    await expect(migrate({ url, migrationsDir: dir })).rejects.toMatchObject({
      code: 'MIGRATION_FAILED',
      message: expect.stringContaining('started but not finished') as unknown,
    });
  });
});
