import { randomBytes } from 'node:crypto';

import { createGraphCatalog, createRun } from '@runstream/graph-catalog';
import { registerBuiltInGraphs } from '@runstream/graphs/testing';
import {
  type Repos,
  type TestDatabaseWithClient,
  createRepos,
  openTestDatabase,
  readRunEvents,
} from '@runstream/persistence/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import { killAll, spawnWorker } from './testing/worker-process.js';

let t: TestDatabaseWithClient;
let repos: Repos;
/** A role of its own with a connection limit: PostgreSQL refuses its connections past it (53300). */
const role = `rs_capacity_${randomBytes(4).toString('hex')}`;
const LIMIT = 3;

beforeAll(async () => {
  t = await openTestDatabase({ poolSize: 4 });
  repos = createRepos(t.db);
  await registerBuiltInGraphs(repos.graphs);
  // Not a superuser: the connection limit binds only other roles.
  await t.db.pool.query(`CREATE ROLE ${role} LOGIN CONNECTION LIMIT ${LIMIT}`);
  await t.db.pool.query(`GRANT pg_read_all_data, pg_write_all_data TO ${role}`);
});
afterEach(async () => {
  await killAll();
});
afterAll(async () => {
  await t?.db.pool
    .query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '${role}'`)
    .catch(() => undefined);
  await t?.drop();
  // Roles are cluster-wide: drop it once its database is gone (nothing of it is left to own).
  const { Client } = (await import('pg')).default;
  const admin = new Client({ connectionString: process.env.TEST_DATABASE_URL });
  await admin.connect();
  await admin.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
  await admin.end();
});

describe('run-worker capacity (ADR 0028)', () => {
  it('holds 200 runs at once on a pool larger than the server lets it open: refused connections (53300) are retried, every run completes, none is WORKER_LOST', async () => {
    const url = new URL(t.url);
    url.username = role;
    url.password = '';
    const worker = spawnWorker({
      DATABASE_URL: url.toString(),
      RUNSTREAM_RUN_WORKER_CONCURRENCY: '200',
      // Twice what the role may open: the server refuses the rest with 53300 "too many connections".
      RUNSTREAM_RUN_WORKER_POOL_SIZE: String(LIMIT * 2),
      RUNSTREAM_TENANT_MAX_RUNNING: '1000',
      RUNSTREAM_RUN_WORKER_POLL_MS: '20',
      RUNSTREAM_RUN_WORKER_LEASE_MS: '10000',
    });
    await worker.started();
    const catalog = createGraphCatalog({ registry: repos.graphs });
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) {
      const runs = await Promise.all(
        Array.from({ length: 20 }, () =>
          createRun(
            { runs: repos.runs, catalog },
            { tenant: 't', graph: 'synthetic', input: { events: 5, delayMs: 1500 } },
          ),
        ),
      );
      ids.push(...runs.map((r) => r.run.id));
    }
    // All of them running at once on this one worker, each mostly waiting (5 x 1.5 s).
    await vi
      .waitUntil(
        async () => {
          const { rows } = await t.db.pool.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM runs WHERE id = ANY($1::uuid[]) AND status = 'running'`,
            [ids],
          );
          return rows[0]!.n === 200;
        },
        { timeout: 30_000, interval: 20 },
      )
      .catch((error: unknown) => {
        throw new Error(`not all running: ${String(error)}\n${worker.output().slice(-3000)}`);
      });
    await vi.waitUntil(
      async () => {
        const { rows } = await t.db.pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM runs WHERE id = ANY($1::uuid[]) AND finished_at IS NOT NULL`,
          [ids],
        );
        return rows[0]!.n === 200;
      },
      { timeout: 60_000, interval: 100 },
    );
    const { rows } = await t.db.pool.query<{ status: string; n: number }>(
      `SELECT status, count(*)::int AS n FROM runs WHERE id = ANY($1::uuid[]) GROUP BY status`,
      [ids],
    );
    expect(rows).toEqual([{ status: 'succeeded', n: 200 }]);
    for (const id of ids.slice(0, 20)) {
      const types = (await readRunEvents(t.db, id)).map((e) => e.type);
      expect(types).toEqual([
        'run.queued',
        'run.started',
        ...Array<string>(5).fill('synthetic.tick'),
        'run.completed',
      ]);
    }
    // The server did refuse it: the worker said so, and went on.
    expect(worker.output()).toMatch(/too many connections/);
    expect(worker.output()).not.toMatch(/WORKER_LOST|run abandoned/);
  }, 120_000);
});
