import { setTimeout as sleep } from 'node:timers/promises';

import { isTerminalType } from '@runstream/events';
import { type RunEventRepo, createOutboxWakeup } from '@runstream/persistence';
import {
  type Repos,
  type RunEventRow,
  type TestDatabaseWithClient,
  assertEndedRun,
  createRepos,
  openTestDatabase,
  readRunEvents,
} from '@runstream/persistence/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';

import {
  GraphInputError,
  type RunWorker,
  createDefaultGraphRegistry,
  createRunWorker,
  defineGraph,
  enqueueRun,
} from './index.js';

let t: TestDatabaseWithClient;
let repos: Repos;
let appends = 0;
let countingEvents: RunEventRepo;
const workers: RunWorker[] = [];

/** What the workers logged, for tests that check which way a run was let go. */
const logged: { fields: Record<string, unknown>; message: string }[] = [];
const record = (fields: object, message: string): void =>
  void logged.push({ fields: fields as Record<string, unknown>, message });
const quiet = { info: record, warn: record, error: record };

const registry = createDefaultGraphRegistry()
  .register(
    defineGraph({
      name: 'deltas',
      input: z.object({ n: z.number().int() }),
      start: 'stream',
      nodes: {
        stream: async ({ n }: { n: number }, { tracer }) => {
          for (let i = 0; i < n; i++) await tracer.text(`${i};`);
          return { n };
        },
      },
    }),
  )
  .register(
    defineGraph({
      name: 'throws-value',
      input: z.object({}),
      start: 'boom',
      nodes: {
        boom: async (_input, { tracer }) => {
          await tracer.text('about to throw');
          // eslint-disable-next-line @typescript-eslint/only-throw-error -- the case under test
          throw { reason: 'not an Error' };
        },
      },
    }),
  )
  .register(
    defineGraph({
      name: 'forever',
      input: z.object({}),
      start: 'stream',
      nodes: {
        stream: async (_input, { signal, tracer }) => {
          // Ignores its signal on purpose: only a failed append stops it.
          for (let i = 0; ; i++) {
            await tracer.text(`${i} `);
            if (i % 50 === 0) await sleep(5);
            if (i > 1_000_000 && signal.aborted) return;
          }
        },
      },
    }),
  )
  .register(
    defineGraph({
      name: 'polite',
      input: z.object({}),
      start: 'stream',
      nodes: {
        stream: async (_input, { signal, tracer }) => {
          for (let i = 0; ; i++) {
            signal.throwIfAborted();
            await tracer.text(`${i} `);
            await sleep(2);
          }
        },
      },
    }),
  )
  .register(
    defineGraph({
      name: 'until-aborted',
      input: z.object({}),
      start: 'wait',
      nodes: {
        wait: async (_input, { signal, tracer }) => {
          await tracer.text('waiting');
          await new Promise((_, reject) =>
            signal.addEventListener('abort', () => reject(new Error('stopped'))),
          );
        },
      },
    }),
  );

beforeAll(async () => {
  t = await openTestDatabase({ poolSize: 12 });
  repos = createRepos(t.db);
  countingEvents = {
    ...repos.events,
    append: (...args: Parameters<RunEventRepo['append']>) => {
      appends++;
      return repos.events.append(...args);
    },
  };
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop({ drainMs: 0 })));
});
afterAll(async () => t?.drop());

function startWorker(options: Parameters<typeof createRunWorker>[1] = {}): RunWorker {
  const worker = createRunWorker(
    {
      runs: repos.runs,
      events: countingEvents,
      wakeup: createOutboxWakeup(t.db.pool),
      registry,
      logger: quiet,
    },
    { pollMs: 20, cancelPollMs: 50, ...options },
  );
  worker.start();
  workers.push(worker);
  return worker;
}

/** How long and how often the tests poll the database or a worker for a condition. */
const poll = { timeout: 20_000, interval: 20 };

async function enqueue(graph: string, input?: unknown): Promise<string> {
  const { run } = await enqueueRun({ runs: repos.runs, registry }, { tenant: 't', graph, input });
  return run.id;
}

const eventsOf = (runId: string): Promise<RunEventRow[]> => readRunEvents(t.db, runId);

/** The run's events once its terminal event is written, checked for I2 and I5. */
async function ended(runId: string): Promise<RunEventRow[]> {
  const events = await vi.waitUntil(async () => {
    const rows = await eventsOf(runId);
    return rows.some((r) => isTerminalType(r.type)) ? rows : undefined;
  }, poll);
  assertEndedRun(events);
  expect(events[0]!.type).toBe('run.queued');
  return events;
}

describe('executing runs', () => {
  it('runs the demo graph: plan, a tool call, streamed answer, one terminal event, gapless seqs', async () => {
    startWorker();
    const runId = await enqueue('demo', { prompt: 'What is Runstream?', delayMs: 0 });
    const events = await ended(runId);
    const types = events.map((e) => e.type);
    expect(types.slice(0, 3)).toEqual(['run.queued', 'run.started', 'node.started']);
    expect(types).toContain('tool.call');
    expect(types.indexOf('tool.call')).toBeLessThan(types.indexOf('tool.result'));
    expect(types.filter((x) => x === 'text.delta').length).toBeGreaterThan(5);
    expect(events.at(-1)).toMatchObject({
      type: 'run.completed',
      data: { output: { answer: expect.any(String) } },
    });
    const run = await repos.runs.getById(runId);
    expect(run).toMatchObject({ status: 'succeeded', leaseOwner: null });
    const answer = events
      .filter((e) => e.type === 'text.delta' && e.data.node === 'answer')
      .map((e) => e.data.text)
      .join('');
    expect(answer).toBe((run.output as { answer: string }).answer);
  });

  it('runs the synthetic graph: n events after its start events, then run.completed', async () => {
    startWorker();
    const runId = await enqueue('synthetic', { events: 500, payloadBytes: 16 });
    const events = await ended(runId);
    expect(events).toHaveLength(2 + 500 + 1);
    expect(events.slice(2, -1).map((e) => e.data.index)).toEqual(
      Array.from({ length: 500 }, (_, i) => i + 1),
    );
    expect(events[2]!.data.payload).toHaveLength(16);
    expect(events.at(-1)!.type).toBe('run.completed');
  });

  it('ends a synthetic run with failAt right after the k-th event, with a code and a message', async () => {
    startWorker();
    const runId = await enqueue('synthetic', { events: 50, failAt: 7 });
    const events = await ended(runId);
    expect(events.map((e) => e.type)).toEqual([
      'run.queued',
      'run.started',
      ...Array<string>(7).fill('synthetic.tick'),
      'run.failed',
    ]);
    expect(events.at(-1)!.data).toMatchObject({
      error: { code: 'SYNTHETIC_FAILURE', message: expect.any(String) },
      node: 'emit',
    });
    expect((await repos.runs.getById(runId)).status).toBe('failed');
  });

  it('ends a run whose node threw a non-Error value with run.failed NODE_FAILED', async () => {
    startWorker();
    const events = await ended(await enqueue('throws-value'));
    expect(events.map((e) => e.type)).toEqual([
      'run.queued',
      'run.started',
      'node.started',
      'text.delta',
      'run.failed',
    ]);
    expect(events.at(-1)!.data).toMatchObject({
      error: { code: 'NODE_FAILED', message: expect.stringContaining('not an Error') },
    });
  });

  it('keeps the order of 10,000 coalesced deltas and appends them in batches', async () => {
    startWorker();
    const before = appends;
    const runId = await enqueue('deltas', { n: 10_000 });
    const events = await ended(runId);
    const texts = events.filter((e) => e.type === 'text.delta').map((e) => e.data.text);
    expect(texts).toEqual(Array.from({ length: 10_000 }, (_, i) => `${i};`));
    // Coalescing: far fewer appends than events (one per event would be 10,000+).
    expect(appends - before).toBeLessThan(1000);
  });

  it('cancels a running run through its AbortSignal with exactly one run.cancelled', async () => {
    startWorker();
    const runId = await enqueue('until-aborted');
    await vi.waitUntil(
      async () => (await eventsOf(runId)).some((e) => e.type === 'text.delta'),
      poll,
    );
    await repos.runs.requestCancel('t', runId);
    const events = await ended(runId);
    expect(events.at(-1)).toMatchObject({
      type: 'run.cancelled',
      data: { reason: 'cancel requested' },
    });
    expect((await repos.runs.getById(runId)).status).toBe('cancelled');
  });

  it('ends a run cancelled while queued with run.cancelled, without starting it', async () => {
    const runId = await enqueue('synthetic', { events: 5 });
    await repos.runs.requestCancel('t', runId);
    startWorker();
    const events = await ended(runId);
    expect(events.map((e) => e.type)).toEqual(['run.queued', 'run.cancelled']);
  });

  it('cancels in-flight runs when stopped past its drain time', async () => {
    const worker = startWorker();
    const runId = await enqueue('until-aborted');
    await vi.waitUntil(() => worker.active > 0, poll);
    await worker.stop({ drainMs: 50 });
    const events = await eventsOf(runId);
    expect(events.at(-1)).toMatchObject({
      type: 'run.cancelled',
      data: { reason: 'the worker is shutting down' },
    });
  });

  it('ends a run whose lease expired with run.failed WORKER_LOST', async () => {
    // A run claimed by a worker that no longer exists.
    const runId = await enqueue('synthetic', { events: 5 });
    await repos.runs.claimQueued('gone-worker', 1, 1);
    startWorker({ reapMs: 20 });
    const events = await ended(runId);
    expect(events.map((e) => e.type)).toEqual(['run.queued', 'run.failed']);
    expect(events.at(-1)!.data).toMatchObject({ error: { code: 'WORKER_LOST' } });
  });
});

describe('runs taken from their worker', () => {
  it('abandons a run another process ended, leaving its single terminal event', async () => {
    startWorker();
    const runId = await enqueue('forever');
    await vi.waitUntil(async () => (await eventsOf(runId)).length > 5, poll);
    await repos.events.append(runId, [
      {
        type: 'run.failed',
        data: { error: { code: 'ELSEWHERE', message: 'ended by someone else' } },
      },
    ]);
    await vi.waitUntil(() => workers[0]!.active === 0, poll);
    const events = await ended(runId);
    expect(events.at(-1)!.data).toMatchObject({ error: { code: 'ELSEWHERE' } });
  });

  it('stops writing when its lease is taken over, and the run is ended once, WORKER_LOST', async () => {
    const worker = startWorker({ leaseMs: 300, reapMs: 50 });
    const runId = await enqueue('polite');
    await vi.waitUntil(async () => (await eventsOf(runId)).length > 5, poll);
    // Another worker's claim, as after a long pause of this one. Still valid: nobody reaps it yet.
    await t.db.pool.query(
      `UPDATE runs SET lease_owner = 'elsewhere', lease_expires_at = now() + interval '1 hour' WHERE id = $1`,
      [runId],
    );
    await vi.waitUntil(() => worker.active === 0, poll);
    const abandoned = logged.find((l) => l.message === 'run abandoned' && l.fields.runId === runId);
    const written = (await eventsOf(runId)).length;
    expect((await repos.runs.getById(runId)).finishedAt).toBeNull();
    // The other holder dies too: its lease expires, and a reaper ends the run once.
    await t.db.pool.query(
      `UPDATE runs SET lease_expires_at = now() - interval '1 second' WHERE id = $1`,
      [runId],
    );
    const events = await ended(runId);
    expect(events.at(-1)!.data).toMatchObject({ error: { code: 'WORKER_LOST' } });
    // Nothing was written between letting go and the reaper's terminal event.
    expect(events).toHaveLength(written + 1);
    expect(abandoned?.fields.err).toMatchObject({ code: 'LEASE_LOST' });
  });
});

describe('refusing bad requests', () => {
  it('refuses an unknown graph and bad input before any run or event is written', async () => {
    const count = async () =>
      (
        await t.db.pool.query<{ n: number }>(
          'SELECT (SELECT count(*) FROM runs)::int + (SELECT count(*) FROM run_events)::int AS n',
        )
      ).rows[0]!.n;
    const before = await count();
    await expect(enqueue('nope', {})).rejects.toMatchObject({ code: 'UNKNOWN_GRAPH' });
    await expect(enqueue('synthetic', { events: 3, failAt: 4 })).rejects.toBeInstanceOf(
      GraphInputError,
    );
    await expect(enqueue('synthetic', { events: 3, extra: true })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
    });
    expect(await count()).toBe(before);
  });
});
