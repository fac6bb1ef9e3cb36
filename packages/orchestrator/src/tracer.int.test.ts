import type { RunEventRepo } from '@runstream/persistence';
import {
  type Repos,
  type TestDatabaseWithClient,
  createRepos,
  openTestDatabase,
  readRunEvents,
  seedRun,
} from '@runstream/persistence/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { NodeEventBody } from './graph.js';
import { createTracer } from './tracer.js';

let t: TestDatabaseWithClient;
let repos: Repos;

beforeAll(async () => {
  t = await openTestDatabase({ poolSize: 4 });
  repos = createRepos(t.db);
});
afterAll(async () => t?.drop());

/**
 * The real repository, with each append's batch recorded as it starts, and the appends held
 * back until `open()` when `gated` (to make "an append is in flight" last as long as a test needs).
 */
function recordingEvents(gated = false) {
  const batches: { types: string[]; startedAt: number }[] = [];
  let open!: () => void;
  const gate = gated ? new Promise<void>((resolve) => (open = resolve)) : Promise.resolve();
  const events: Pick<RunEventRepo, 'append'> = {
    async append(runId, batch, ...rest) {
      batches.push({ types: batch.map((e) => e.type), startedAt: performance.now() });
      await gate;
      return repos.events.append(runId, batch, ...rest);
    },
  };
  return { events, batches, open: () => open?.() };
}

const tick = (index: number): NodeEventBody => ({ type: 'synthetic.tick', data: { index } });
let wakeups = 0;
const wakeup = { notify: () => void wakeups++ };

describe('tracer group commit (ADR 0027)', () => {
  it('appends an event emitted while no append is in flight at once, alone: no timer, no wait for neighbours', async () => {
    const run = await seedRun(repos);
    const { events, batches } = recordingEvents();
    const tracer = createTracer({ events, wakeup }, run.id);
    const emittedAt = performance.now();
    await tracer.emit(tick(1));
    // One microtask later the statement is on its way: well before any timer could fire.
    await Promise.resolve();
    expect(batches).toHaveLength(1);
    expect(batches[0]!.types).toEqual(['synthetic.tick']);
    expect(batches[0]!.startedAt - emittedAt).toBeLessThan(1);
    await tracer.end({ type: 'run.completed', data: { output: null } });
    const rows = await readRunEvents(t.db, run.id);
    expect(rows.map((r) => r.seq)).toEqual([1, 2, 3]);
  });

  it('puts the events emitted while an append is in flight into the next statement, in emit order', async () => {
    const run = await seedRun(repos);
    const { events, batches, open } = recordingEvents(true);
    const tracer = createTracer({ events, wakeup }, run.id);
    await tracer.emit(tick(1));
    await Promise.resolve();
    expect(batches).toHaveLength(1);
    // The first append is in flight (held at the gate): these wait for it, together.
    for (let i = 2; i <= 5; i++) await tracer.emit(tick(i));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(batches).toHaveLength(1);
    const before = wakeups;
    open();
    await tracer.end({ type: 'run.completed', data: { output: null } });
    // Statement 2 took the four events emitted meanwhile, and the terminal event that joined them
    // while statement 1 was still committing.
    expect(batches.map((b) => b.types.length)).toEqual([1, 5]);
    expect(batches[1]!.types.at(-1)).toBe('run.completed');
    expect(wakeups - before).toBe(2);
    const rows = await readRunEvents(t.db, run.id);
    expect(rows.map((r) => [r.seq, r.type, (r.data as { index?: number }).index])).toEqual([
      [1, 'run.queued', undefined],
      [2, 'synthetic.tick', 1],
      [3, 'synthetic.tick', 2],
      [4, 'synthetic.tick', 3],
      [5, 'synthetic.tick', 4],
      [6, 'synthetic.tick', 5],
      [7, 'run.completed', undefined],
    ]);
  });

  it('shares one statement among events emitted in the same tick, and keeps a batch at maxBatch', async () => {
    const run = await seedRun(repos);
    const { events, batches } = recordingEvents();
    const tracer = createTracer({ events, wakeup }, run.id, { maxBatch: 3 });
    // Not awaited in between: one tick, so one statement (up to maxBatch, which flushes at once).
    const emits = [1, 2, 3, 4, 5].map((i) => tracer.emit(tick(i)));
    await Promise.all(emits);
    await tracer.end({ type: 'run.completed', data: { output: null } });
    // The terminal event joined the two events left over while the first statement committed.
    expect(batches.map((b) => b.types.length)).toEqual([3, 3]);
    const rows = await readRunEvents(t.db, run.id);
    expect(rows.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('wakes the outbox from the append statement itself when the wake-up allows it, and sends no NOTIFY after', async () => {
    const run = await seedRun(repos);
    const { events, batches } = recordingEvents();
    let notified = 0;
    let inlined = 0;
    let held = false;
    const tracer = createTracer(
      {
        events,
        wakeup: {
          notify: () => void notified++,
          inline() {
            if (held) return undefined;
            held = true;
            inlined++;
            return () => void (held = false);
          },
        },
      },
      run.id,
    );
    await tracer.emit(tick(1));
    const result = await tracer.end({ type: 'run.completed', data: { output: null } });
    expect(batches.length).toBeGreaterThan(0);
    expect(inlined).toBe(batches.length);
    expect(notified).toBe(0);
    expect(result.wokeOutbox).toBe(true);
  });
});
