import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { seedRun, useTestDatabase } from './testing/index.js';

/** What the claims here serve: seedRun's graph, at any version. */
const SYNTHETIC = [{ name: 'synthetic' }];

const t = useTestDatabase({ beforeAll, afterAll }, { poolSize: 12 });
const repos = t.repos;

async function clearQueue(): Promise<void> {
  await t.db.pool.query(`DELETE FROM runs`);
}

describe('run leases', () => {
  it('gives each queued run to exactly one of many concurrent claimers', async () => {
    await clearQueue();
    const ids = new Set<string>();
    for (let i = 0; i < 40; i++) ids.add((await seedRun(repos)).id);
    const claimed = await Promise.all(
      Array.from({ length: 8 }, async (_, w) => {
        const mine: string[] = [];
        for (;;) {
          const runs = await repos.leases.claimQueued(`w${w}`, {
            graphs: SYNTHETIC,
            limit: 3,
            leaseMs: 60_000,
            tenantMaxRunning: 100,
          });
          if (runs.length === 0) return mine;
          for (const run of runs) {
            expect(run).toMatchObject({ status: 'running', leaseOwner: `w${w}` });
            expect(run.startedAt).toBeInstanceOf(Date);
            mine.push(run.id);
          }
        }
      }),
    );
    const all = claimed.flat();
    expect(all).toHaveLength(40);
    expect(new Set(all)).toEqual(ids);
  });

  it('claims oldest first and leaves ended runs alone', async () => {
    await clearQueue();
    const first = await seedRun(repos);
    const second = await seedRun(repos);
    const ended = await seedRun(repos);
    await repos.events.append(ended.id, [{ type: 'run.cancelled', data: {} }]);
    expect(
      (await repos.leases.claimQueued('w', { graphs: SYNTHETIC, limit: 1, leaseMs: 1000 })).map(
        (r) => r.id,
      ),
    ).toEqual([first.id]);
    expect(
      (await repos.leases.claimQueued('w', { graphs: SYNTHETIC, limit: 5, leaseMs: 1000 })).map(
        (r) => r.id,
      ),
    ).toEqual([second.id]);
  });

  it('renews only the leases its worker holds, and reports cancel requests', async () => {
    await clearQueue();
    const a = await seedRun(repos);
    const b = await seedRun(repos);
    await repos.leases.claimQueued('mine', { graphs: SYNTHETIC, limit: 1, leaseMs: 1000 });
    await repos.leases.claimQueued('theirs', { graphs: SYNTHETIC, limit: 1, leaseMs: 1000 });
    await repos.runs.requestCancel('default', a.id);
    const before = (await repos.runs.getById(a.id)).leaseExpiresAt!;
    const renewed = await repos.leases.renewLeases('mine', [a.id, b.id], 60_000);
    expect(renewed).toEqual([{ id: a.id, cancelRequested: true }]);
    expect((await repos.runs.getById(a.id)).leaseExpiresAt!.getTime()).toBeGreaterThan(
      before.getTime(),
    );
    expect(await repos.leases.cancelRequested([a.id, b.id])).toEqual([a.id]);
    await repos.events.append(a.id, [{ type: 'run.cancelled', data: {} }]);
    expect(await repos.leases.renewLeases('mine', [a.id], 60_000)).toEqual([]);
    expect(await repos.leases.cancelRequested([a.id])).toEqual([]);
  });

  it('hands an expired lease to exactly one taker, naming the lost owner', async () => {
    await clearQueue();
    const run = await seedRun(repos);
    const live = await seedRun(repos);
    await repos.leases.claimQueued('dead', { graphs: SYNTHETIC, limit: 1, leaseMs: 1 });
    await repos.leases.claimQueued('alive', { graphs: SYNTHETIC, limit: 1, leaseMs: 60_000 });
    await t.db.pool.query(
      `UPDATE runs SET lease_expires_at = now() - interval '1 second' WHERE id = $1`,
      [run.id],
    );
    const takes = await Promise.all(
      Array.from({ length: 4 }, (_, i) => repos.leases.takeExpiredLeases(`reaper${i}`, 10, 60_000)),
    );
    const taken = takes.flat();
    expect(taken).toHaveLength(1);
    expect(taken[0]).toMatchObject({ id: run.id, lostOwner: 'dead', status: 'running' });
    expect(taken[0]!.leaseOwner).toMatch(/^reaper/);
    expect(taken.map((r) => r.id)).not.toContain(live.id);
    expect(await repos.leases.renewLeases('dead', [run.id], 1000)).toEqual([]);
  });
});

describe('claiming fairly across tenants', () => {
  const claimOne = async (worker: string, tenantMaxRunning = 16) =>
    repos.leases.claimQueued(worker, {
      graphs: SYNTHETIC,
      limit: 1,
      leaseMs: 60_000,
      tenantMaxRunning,
    });

  it("fairness: a tenant's 40 older queued runs do not push another tenant's run back", async () => {
    await clearQueue();
    for (let i = 0; i < 40; i++) await seedRun(repos, { tenant: 'a' });
    const b = await seedRun(repos, { tenant: 'b' });
    // First claim: both tenants run nothing, a's oldest is older. Second: a runs one, so b's turn.
    const first = await claimOne('w');
    const second = await claimOne('w');
    expect(first[0]!.tenant).toBe('a');
    expect(second.map((r) => r.id)).toEqual([b.id]);
  });

  it('fairness: one claim of 9 slots takes 3 runs of each of 3 tenants, oldest first in each', async () => {
    await clearQueue();
    const byTenant: Record<string, string[]> = { a: [], b: [], c: [] };
    for (const tenant of ['a', 'a', 'a', 'a', 'a', 'a', 'b', 'b', 'b', 'b', 'c', 'c', 'c', 'c'])
      byTenant[tenant]!.push((await seedRun(repos, { tenant })).id);
    const claimed = await repos.leases.claimQueued('w', {
      graphs: SYNTHETIC,
      limit: 9,
      leaseMs: 60_000,
    });
    for (const tenant of ['a', 'b', 'c']) {
      expect(claimed.filter((r) => r.tenant === tenant).map((r) => r.id)).toEqual(
        byTenant[tenant]!.slice(0, 3),
      );
    }
  });

  it('RUNSTREAM_TENANT_MAX_RUNNING: 8 concurrent claimers never run more than 5 runs of one tenant', async () => {
    await clearQueue();
    for (let i = 0; i < 40; i++) await seedRun(repos, { tenant: 'a' });
    for (let i = 0; i < 3; i++) await seedRun(repos, { tenant: 'b' });
    const claims = await Promise.all(
      Array.from({ length: 8 }, (_, w) =>
        repos.leases.claimQueued(`w${w}`, {
          graphs: SYNTHETIC,
          limit: 4,
          leaseMs: 60_000,
          tenantMaxRunning: 5,
        }),
      ),
    );
    const claimed = claims.flat();
    expect(claimed.filter((r) => r.tenant === 'a')).toHaveLength(5);
    expect(claimed.filter((r) => r.tenant === 'b')).toHaveLength(3);
    const { rows } = await t.db.pool.query<{ tenant: string; n: number }>(
      `SELECT tenant, count(*)::int AS n FROM runs WHERE status = 'running' GROUP BY tenant ORDER BY tenant`,
    );
    expect(rows).toEqual([
      { tenant: 'a', n: 5 },
      { tenant: 'b', n: 3 },
    ]);
    // A run of a that ends frees one place under the cap, for one more claim.
    await repos.events.append(claimed.find((r) => r.tenant === 'a')!.id, [
      { type: 'run.cancelled', data: {} },
    ]);
    expect(await claimOne('w', 5)).toHaveLength(1);
    expect(await claimOne('w', 5)).toHaveLength(0);
  });

  it('claims a queued run with a cancel request first, even for a tenant at its cap', async () => {
    await clearQueue();
    await seedRun(repos, { tenant: 'a' });
    await claimOne('w', 1);
    await seedRun(repos, { tenant: 'b' });
    const cancelled = await seedRun(repos, { tenant: 'a' });
    await repos.runs.requestCancel('a', cancelled.id);
    expect((await claimOne('w', 1)).map((r) => r.id)).toEqual([cancelled.id]);
  });

  it('A7: hands runs it will not execute back to the queue, lease and start time cleared', async () => {
    await clearQueue();
    const run = await seedRun(repos);
    const other = await seedRun(repos);
    await repos.leases.claimQueued('stopping', { graphs: SYNTHETIC, limit: 1, leaseMs: 60_000 });
    await repos.leases.claimQueued('other', { graphs: SYNTHETIC, limit: 1, leaseMs: 60_000 });
    expect(await repos.leases.releaseClaimed('stopping', [run.id, other.id])).toEqual([run.id]);
    expect(await repos.runs.getById(run.id)).toMatchObject({
      status: 'queued',
      leaseOwner: null,
      leaseExpiresAt: null,
      startedAt: null,
    });
    expect((await repos.runs.getById(other.id)).leaseOwner).toBe('other');
    expect(
      (await repos.leases.claimQueued('next', { graphs: SYNTHETIC, limit: 1, leaseMs: 60_000 }))[0]!
        .id,
    ).toBe(run.id);
  });
});
