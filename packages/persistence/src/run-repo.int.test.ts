import { runQueuedEvent } from '@runstream/events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { IdempotentRunVanishedError, RunNotFoundError, RunTerminalError } from './errors.js';
import { seedRun, useTestDatabase } from './testing/index.js';

const t = useTestDatabase({ beforeAll, afterAll });
const repos = t.repos;

const queued = runQueuedEvent('synthetic');

describe('create', () => {
  it('writes the run and its first event and outbox row together', async () => {
    const { run, created } = await repos.runs.create({
      tenant: 't1',
      graph: 'synthetic',
      input: { events: 3 },
      firstEvent: queued,
    });
    expect(created).toBe(true);
    expect(run).toMatchObject({
      tenant: 't1',
      graph: 'synthetic',
      input: { events: 3 },
      status: 'queued',
      nextSeq: 2,
    });
    const events = await repos.events.readPage(run.id);
    expect(events.map((e) => [e.seq, e.type])).toEqual([[1, 'run.queued']]);
    const outbox = await t.db.pool.query('SELECT seq FROM run_outbox WHERE run_id = $1', [run.id]);
    expect(outbox.rows).toEqual([{ seq: 1 }]);
  });

  it('returns the same run for the same idempotency key and tenant, even when created concurrently', async () => {
    const results = await Promise.all(
      Array.from({ length: 8 }, () =>
        repos.runs.create({
          tenant: 't1',
          graph: 'synthetic',
          input: {},
          idempotencyKey: 'key-1',
          firstEvent: queued,
        }),
      ),
    );
    const ids = new Set(results.map((r) => r.run.id));
    expect(ids.size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    const [id] = ids;
    const events = await t.db.pool.query(
      'SELECT count(*)::int AS n FROM run_events WHERE run_id = $1',
      [id],
    );
    expect(events.rows[0].n).toBe(1);
    // Another tenant's identical key is another run.
    const other = await repos.runs.create({
      tenant: 't2',
      graph: 'synthetic',
      input: {},
      idempotencyKey: 'key-1',
      firstEvent: queued,
    });
    expect(other.created).toBe(true);
    expect(other.run.id).not.toBe(id);
  });

  it.each([
    ['without a quota', undefined],
    ['under a quota with room', 10],
  ])(
    'a run deleted between the key conflict and the read is an IdempotentRunVanishedError (RUN_NOT_FOUND), %s',
    async (_how, maxQueued) => {
      const tenant = `vanish-${maxQueued ?? 'none'}`;
      const create = () =>
        repos.runs.create({
          tenant,
          graph: 'synthetic',
          input: {},
          idempotencyKey: 'key-v',
          firstEvent: queued,
          maxQueued,
        });
      await create();
      // The deletion lands where a concurrent one would: after the insert found the key taken
      // (a statement trigger fires even when ON CONFLICT inserted nothing), before the read.
      await t.db.pool.query(`
        CREATE FUNCTION delete_vanishing_runs() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN DELETE FROM runs WHERE tenant = '${tenant}'; RETURN NULL; END $$;
        CREATE TRIGGER vanish AFTER INSERT ON runs
          FOR EACH STATEMENT EXECUTE FUNCTION delete_vanishing_runs();`);
      try {
        const error: unknown = await create().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(IdempotentRunVanishedError);
        expect(error).toMatchObject({ code: 'RUN_NOT_FOUND', idempotencyKey: 'key-v' });
      } finally {
        await t.db.pool.query(
          'DROP TRIGGER vanish ON runs; DROP FUNCTION delete_vanishing_runs();',
        );
      }
    },
  );
});

describe('the queued quota', () => {
  const create = (tenant: string, maxQueued: number, idempotencyKey?: string) =>
    repos.runs.create({
      tenant,
      graph: 'synthetic',
      input: {},
      idempotencyKey,
      firstEvent: queued,
      maxQueued,
    });
  const count = async (tenant: string) =>
    (
      await t.db.pool.query<{ n: number; events: number }>(
        `SELECT (SELECT count(*)::int FROM runs WHERE tenant = $1) AS n,
                (SELECT count(*)::int FROM run_events e JOIN runs r ON r.id = e.run_id WHERE r.tenant = $1) AS events`,
        [tenant],
      )
    ).rows[0]!;

  it('QUOTA_EXCEEDED: 30 concurrent creates under a quota of 10 queued runs create exactly 10, and write nothing for the rest', async () => {
    const results = await Promise.allSettled(Array.from({ length: 30 }, () => create('q1', 10)));
    const created = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r) => r.status === 'rejected');
    expect(created).toHaveLength(10);
    expect(refused).toHaveLength(20);
    for (const r of refused) expect(r.reason).toMatchObject({ code: 'QUOTA_EXCEEDED' });
    expect(await count('q1')).toEqual({ n: 10, events: 10 });
  });

  it('counts only queued runs of the tenant, and still answers an idempotent repeat when full', async () => {
    const first = await create('q2', 2, 'k1');
    await create('q2', 2);
    await expect(create('q2', 2)).rejects.toMatchObject({ code: 'QUOTA_EXCEEDED' });
    // The same key again is the existing run, not a new one: the quota does not apply.
    const again = await create('q2', 2, 'k1');
    expect(again).toMatchObject({ created: false, run: { id: first.run.id } });
    // Another tenant has its own quota.
    expect((await create('q3', 2)).created).toBe(true);
    // A run that left the queue frees its place.
    await t.db.pool.query(`UPDATE runs SET status = 'running' WHERE id = $1`, [first.run.id]);
    expect((await create('q2', 2)).created).toBe(true);
  });
});

describe('reads are scoped to the tenant', () => {
  it('finds a run only for its tenant; a malformed id is not found, never an error', async () => {
    const run = await seedRun(repos, { tenant: 'alice' });
    expect((await repos.runs.get('alice', run.id)).id).toBe(run.id);
    await expect(repos.runs.get('bob', run.id)).rejects.toBeInstanceOf(RunNotFoundError);
    await expect(repos.runs.get('alice', 'nope')).rejects.toBeInstanceOf(RunNotFoundError);
    await expect(repos.runs.get('alice', "1' OR '1'='1")).rejects.toBeInstanceOf(RunNotFoundError);
  });

  it('lists newest first in pages, with filters and an opaque cursor', async () => {
    const tenant = 'lister';
    const made = [];
    for (let i = 0; i < 7; i++)
      made.push(await seedRun(repos, { tenant, graph: i % 2 ? 'demo' : 'synthetic' }));
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await repos.runs.list({ tenant, limit: 3, cursor });
      seen.push(...page.runs.map((r) => r.id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen).toEqual(made.map((r) => r.id).reverse());
    const demos = await repos.runs.list({ tenant, graph: 'demo' });
    expect(demos.runs.map((r) => r.id)).toEqual(
      made
        .filter((_, i) => i % 2)
        .map((r) => r.id)
        .reverse(),
    );
    expect(demos.nextCursor).toBeNull();
    expect((await repos.runs.list({ tenant, status: 'succeeded' })).runs).toEqual([]);
    await expect(repos.runs.list({ tenant, cursor: 'garbage!' })).rejects.toMatchObject({
      code: 'INVALID_CURSOR',
    });
  });
});

describe('requestCancel', () => {
  it('records the first request, is idempotent, and refuses an ended run with RUN_TERMINAL', async () => {
    const run = await seedRun(repos, { tenant: 'c' });
    const first = await repos.runs.requestCancel('c', run.id);
    expect(first.cancelRequestedAt).toBeInstanceOf(Date);
    const again = await repos.runs.requestCancel('c', run.id);
    expect(again.cancelRequestedAt).toEqual(first.cancelRequestedAt);
    await expect(repos.runs.requestCancel('other', run.id)).rejects.toBeInstanceOf(
      RunNotFoundError,
    );
    await repos.events.append(run.id, [{ type: 'run.cancelled', data: {} }]);
    await expect(repos.runs.requestCancel('c', run.id)).rejects.toBeInstanceOf(RunTerminalError);
  });
});
