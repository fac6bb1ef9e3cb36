import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  type Repos,
  type TestDatabaseWithClient,
  createRepos,
  openTestDatabase,
  seedRun,
} from './testing/index.js';

let t: TestDatabaseWithClient;
let repos: Repos;

beforeAll(async () => {
  t = await openTestDatabase({ poolSize: 12 });
  repos = createRepos(t.db);
});
afterAll(async () => t?.drop());

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
          const runs = await repos.runs.claimQueued(`w${w}`, 3, 60_000);
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
    expect((await repos.runs.claimQueued('w', 1, 1000)).map((r) => r.id)).toEqual([first.id]);
    expect((await repos.runs.claimQueued('w', 5, 1000)).map((r) => r.id)).toEqual([second.id]);
  });

  it('renews only the leases its worker holds, and reports cancel requests', async () => {
    await clearQueue();
    const a = await seedRun(repos);
    const b = await seedRun(repos);
    await repos.runs.claimQueued('mine', 1, 1000);
    await repos.runs.claimQueued('theirs', 1, 1000);
    await repos.runs.requestCancel('default', a.id);
    const before = (await repos.runs.getById(a.id)).leaseExpiresAt!;
    const renewed = await repos.runs.renewLeases('mine', [a.id, b.id], 60_000);
    expect(renewed).toEqual([{ id: a.id, cancelRequested: true }]);
    expect((await repos.runs.getById(a.id)).leaseExpiresAt!.getTime()).toBeGreaterThan(
      before.getTime(),
    );
    expect(await repos.runs.cancelRequested([a.id, b.id])).toEqual([a.id]);
    await repos.events.append(a.id, [{ type: 'run.cancelled', data: {} }]);
    expect(await repos.runs.renewLeases('mine', [a.id], 60_000)).toEqual([]);
    expect(await repos.runs.cancelRequested([a.id])).toEqual([]);
  });

  it('hands an expired lease to exactly one taker, naming the lost owner', async () => {
    await clearQueue();
    const run = await seedRun(repos);
    const live = await seedRun(repos);
    await repos.runs.claimQueued('dead', 1, 1);
    await repos.runs.claimQueued('alive', 1, 60_000);
    await t.db.pool.query(
      `UPDATE runs SET lease_expires_at = now() - interval '1 second' WHERE id = $1`,
      [run.id],
    );
    const takes = await Promise.all(
      Array.from({ length: 4 }, (_, i) => repos.runs.takeExpiredLeases(`reaper${i}`, 10, 60_000)),
    );
    const taken = takes.flat();
    expect(taken).toHaveLength(1);
    expect(taken[0]).toMatchObject({ id: run.id, lostOwner: 'dead', status: 'running' });
    expect(taken[0]!.leaseOwner).toMatch(/^reaper/);
    expect(taken.map((r) => r.id)).not.toContain(live.id);
    expect(await repos.runs.renewLeases('dead', [run.id], 1000)).toEqual([]);
  });
});
