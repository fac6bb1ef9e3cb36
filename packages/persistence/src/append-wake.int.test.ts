import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { OUTBOX_WAKEUP_CHANNEL, createOutboxWakeup } from './outbox-wakeup.js';
import {
  type Repos,
  type TestDatabaseWithClient,
  createRepos,
  openTestDatabase,
  seedRun,
} from './testing/index.js';

let t: TestDatabaseWithClient;
let repos: Repos;
let listener: pg.Client;
const heard: number[] = [];

beforeAll(async () => {
  t = await openTestDatabase({ poolSize: 4 });
  repos = createRepos(t.db);
  listener = new pg.Client({ connectionString: t.url });
  await listener.connect();
  listener.on('notification', (n) => {
    if (n.channel === OUTBOX_WAKEUP_CHANNEL) heard.push(performance.now());
  });
  await listener.query(`LISTEN ${OUTBOX_WAKEUP_CHANNEL}`);
});
afterAll(async () => {
  await listener?.end();
  await t?.drop();
});

/** Resolves once the listener has heard `count` wake-ups in all, or after 2 s. */
async function heardWithin(count: number): Promise<number> {
  const until = Date.now() + 2000;
  while (heard.length < count && Date.now() < until)
    await new Promise((resolve) => setTimeout(resolve, 5));
  return heard.length;
}

describe('append with wakeOutbox (ADR 0027)', () => {
  it('wakes the outbox workers from the append statement itself, at its commit', async () => {
    const run = await seedRun(repos);
    const before = heard.length;
    const result = await repos.events.append(
      run.id,
      [{ type: 'text.delta', data: { text: 'hi' } }],
      {},
      undefined,
      { wakeOutbox: true },
    );
    expect(result.wokeOutbox).toBe(true);
    expect(await heardWithin(before + 1)).toBe(before + 1);
  });

  it('wakes nobody when it writes nothing, and not without the option', async () => {
    const run = await seedRun(repos);
    await repos.events.append(run.id, [{ type: 'run.completed', data: { output: null } }]);
    const before = heard.length;
    await expect(
      repos.events.append(run.id, [{ type: 'text.delta', data: { text: 'x' } }], {}, undefined, {
        wakeOutbox: true,
      }),
    ).rejects.toMatchObject({ code: 'RUN_TERMINAL' });
    const plain = await repos.events.append((await seedRun(repos)).id, [
      { type: 'text.delta', data: { text: 'x' } },
    ]);
    expect(plain.wokeOutbox).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(heard.length).toBe(before);
  });

  it('createOutboxWakeup lets one append at a time wake inline, and none while its own NOTIFY is on its way', async () => {
    const wakeup = createOutboxWakeup(t.db.pool);
    const release = wakeup.inline();
    expect(release).toBeTypeOf('function');
    expect(wakeup.inline()).toBeUndefined();
    release!();
    wakeup.notify();
    expect(wakeup.inline()).toBeUndefined();
    const before = heard.length;
    await heardWithin(before + 1);
    // The NOTIFY's own answer may come a little after the listener heard it.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(wakeup.inline()).toBeTypeOf('function');
  });
});
