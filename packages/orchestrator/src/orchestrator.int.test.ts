import { setTimeout as sleep } from 'node:timers/promises';

import { isTerminalType } from '@runstream/events';
import { createGraphCatalog, createRun } from '@runstream/graph-catalog';
import {
  type Database,
  type RunEventRepo,
  createDatabase,
  createOutboxWakeup,
  createRepositories,
} from '@runstream/persistence';
import {
  type RunEventRow,
  assertEndedRun,
  readRunEvents,
  useTestDatabase,
} from '@runstream/persistence/testing';
import { startPostgresProxy } from '@runstream/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';

import {
  type RunWorker,
  type RunWorkerDeps,
  createGraphRegistry,
  createRunWorker,
  defineGraph,
} from './index.js';

const t = useTestDatabase({ beforeAll, afterAll }, { poolSize: 12 });
const repos = t.repos;
let appends = 0;
let countingEvents: RunEventRepo;
const workers: RunWorker[] = [];

/** What the workers logged, for tests that check which way a run was let go. */
const logged: { fields: Record<string, unknown>; message: string }[] = [];
const record = (fields: object, message: string): void =>
  void logged.push({ fields: fields as Record<string, unknown>, message });
const quiet = { info: record, warn: record, error: record };

const registry = createGraphRegistry()
  .register(
    defineGraph({
      name: 'ticks',
      input: z.strictObject({
        events: z.number().int().min(1),
        payloadBytes: z.number().int().min(0).optional(),
      }),
      start: 'emit',
      traceNodes: false,
      nodes: {
        emit: async (
          { events, payloadBytes }: { events: number; payloadBytes?: number },
          { signal, tracer },
        ) => {
          const payload = payloadBytes ? 'x'.repeat(payloadBytes) : undefined;
          for (let index = 1; index <= events; index++) {
            signal.throwIfAborted();
            await tracer.emit({
              type: 'synthetic.tick',
              data: payload === undefined ? { index } : { index, payload },
            });
          }
          return { events };
        },
      },
    }),
  )
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
      name: 'unstorable-text',
      input: z.object({}),
      start: 'say',
      nodes: {
        say: async (_input, { tracer }) => {
          await tracer.text('nul \u0000 here');
          await tracer.emit({
            type: 'tool.call',
            data: { callId: 'c1', tool: 'echo', args: { ['key\u0000']: 'half an emoji \ud83d' } },
          });
          return { text: 'end \ude00' };
        },
      },
    }),
  )
  .register(
    defineGraph({
      name: 'gated',
      input: z.object({}),
      start: 'wait',
      nodes: {
        wait: async (_input, { tracer }) => {
          await tracer.text('before');
          await gate.promise;
          for (let i = 0; i < 10; i++) await tracer.text(`after ${i}`);
          return { ok: true };
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

/** What the `gated` graph waits for after its first delta; tests open it with `gate.open()`. */
let gate = newGate();
function newGate() {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

beforeAll(async () => {
  // As a worker of these graphs does at start, so that runs of them can be created at once.
  await repos.graphs.register(registry.registrations(), { liveForMs: 3_600_000 });
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

function startWorker(
  options: Parameters<typeof createRunWorker>[1] = {},
  deps: Partial<RunWorkerDeps> = {},
): RunWorker {
  const worker = createRunWorker(
    {
      leases: repos.leases,
      events: countingEvents,
      graphs: repos.graphs,
      wakeup: createOutboxWakeup(t.db.pool),
      registry,
      logger: quiet,
      ...deps,
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
  const catalog = createGraphCatalog({ registry: repos.graphs });
  const { run } = await createRun({ runs: repos.runs, catalog }, { tenant: 't', graph, input });
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
    const runId = await enqueue('ticks', { events: 5 });
    await repos.runs.requestCancel('t', runId);
    startWorker();
    const events = await ended(runId);
    expect(events.map((e) => e.type)).toEqual(['run.queued', 'run.cancelled']);
  });

  it('B5: ends in-flight runs run.failed WORKER_SHUTDOWN (not a cancel) when stopped past its drain time', async () => {
    const worker = startWorker();
    const runId = await enqueue('until-aborted');
    await vi.waitUntil(() => worker.active > 0, poll);
    await worker.stop({ drainMs: 50 });
    const events = await eventsOf(runId);
    assertEndedRun(events);
    expect(events.at(-1)).toMatchObject({
      type: 'run.failed',
      data: { error: { code: 'WORKER_SHUTDOWN' } },
    });
    expect((await repos.runs.getById(runId)).status).toBe('failed');
  });

  it('A7: hands a run claimed while the worker is stopping back to the queue, unexecuted', async () => {
    // A claim that commits, then is slow to come back: stop() begins in between.
    let claimedWhileSlow: () => void = () => undefined;
    const slowClaimDone = new Promise<void>((resolve) => (claimedWhileSlow = resolve));
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    const worker = startWorker(
      {},
      {
        leases: {
          ...repos.leases,
          claimQueued: async (...args: Parameters<typeof repos.leases.claimQueued>) => {
            const runs = await repos.leases.claimQueued(...args);
            if (runs.length > 0) {
              claimedWhileSlow();
              await released;
            }
            return runs;
          },
        },
      },
    );
    const runId = await enqueue('ticks', { events: 3 });
    await slowClaimDone;
    expect((await repos.runs.getById(runId)).status).toBe('running');
    const stopped = worker.stop({ drainMs: 1000 });
    release();
    await stopped;
    expect(worker.active).toBe(0);
    expect(await repos.runs.getById(runId)).toMatchObject({
      status: 'queued',
      leaseOwner: null,
      startedAt: null,
    });
    expect((await eventsOf(runId)).map((e) => e.type)).toEqual(['run.queued']);
    // Another worker takes it from the queue and runs it whole.
    startWorker();
    expect((await ended(runId)).at(-1)!.type).toBe('run.completed');
  });

  it('A4: a node whose text holds U+0000 and lone surrogates succeeds, the text stored with U+FFFD', async () => {
    startWorker();
    const runId = await enqueue('unstorable-text');
    const events = await ended(runId);
    expect(events.at(-1)).toMatchObject({
      type: 'run.completed',
      data: { output: { text: 'end \uFFFD' } },
    });
    expect(events.find((e) => e.type === 'text.delta')!.data.text).toBe('nul \uFFFD here');
    expect(events.find((e) => e.type === 'tool.call')!.data.args).toEqual({
      ['key\uFFFD']: 'half an emoji \uFFFD',
    });
    expect((await repos.runs.getById(runId)).status).toBe('succeeded');
  });

  it('ends a run whose lease expired with run.failed WORKER_LOST', async () => {
    // A run claimed by a worker that no longer exists.
    const runId = await enqueue('ticks', { events: 5 });
    await repos.leases.claimQueued('gone-worker', {
      graphs: [{ name: 'ticks' }],
      limit: 1,
      leaseMs: 1,
    });
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

describe('fenced appends', () => {
  it('B3: a worker whose lease was taken over writes nothing after the takeover', async () => {
    // A long lease: the heartbeat would notice only after 20 s; the fence stops it at once.
    const worker = startWorker({ leaseMs: 60_000 });
    const runId = await enqueue('polite');
    await vi.waitUntil(async () => (await eventsOf(runId)).length > 5, poll);
    // Another worker's takeover, as after a long pause of this one; it holds the row lock, so
    // next_seq here is exactly where this worker's writes must stop.
    const { rows } = await t.db.pool.query<{ next_seq: number }>(
      `UPDATE runs SET lease_owner = 'elsewhere', lease_expires_at = now() + interval '1 hour'
        WHERE id = $1 RETURNING next_seq`,
      [runId],
    );
    await vi.waitUntil(
      () => logged.some((l) => l.message === 'run abandoned' && l.fields.runId === runId),
      { timeout: 5000, interval: 20 },
    );
    await vi.waitUntil(() => worker.active === 0, poll);
    expect((await repos.runs.getById(runId)).nextSeq).toBe(rows[0]!.next_seq);
    expect(await eventsOf(runId)).toHaveLength(rows[0]!.next_seq - 1);
  });

  it('a worker that takes over its own run (its lease ran out during an outage) keeps running it', async () => {
    gate = newGate();
    const worker = startWorker({ leaseMs: 60_000, reapMs: 20 });
    const runId = await enqueue('gated');
    await vi.waitUntil(
      async () => (await eventsOf(runId)).some((e) => e.data.text === 'before'),
      poll,
    );
    // As if the database had been away for longer than the lease: nobody renewed it.
    await t.db.pool.query(
      `UPDATE runs SET lease_expires_at = now() - interval '1 second' WHERE id = $1`,
      [runId],
    );
    // Its own reaper takes it over, which renews the lease; the run must go on, not end WORKER_LOST.
    await vi.waitUntil(
      async () => (await repos.runs.getById(runId)).leaseExpiresAt!.getTime() > Date.now(),
      poll,
    );
    expect(worker.active).toBe(1);
    gate.open();
    expect((await ended(runId)).at(-1)!.type).toBe('run.completed');
  });

  it('B3: an append whose connection is reset after the server committed is retried and written once', async () => {
    const proxy = await startPostgresProxy(t.url);
    const db = createDatabase({ url: proxy.url, poolSize: 4 });
    try {
      const proxied = createRepositories(db);
      startWorker({}, { leases: proxied.leases, events: proxied.events });
      const reset = proxy.resetAfterCommit('runstream_append_events');
      const runId = await enqueue('deltas', { n: 200 });
      await reset;
      const events = await ended(runId);
      expect(events.at(-1)!.type).toBe('run.completed');
      const texts = events.filter((e) => e.type === 'text.delta').map((e) => e.data.text);
      expect(texts).toEqual(Array.from({ length: 200 }, (_, i) => `${i};`));
      expect(events.filter((e) => e.type === 'run.started')).toHaveLength(1);
    } finally {
      await Promise.all(workers.splice(0).map((w) => w.stop({ drainMs: 0 })));
      await db.close();
      await proxy.close();
    }
  });

  it('Run-worker capacity: PostgreSQL refusing connections (53300) makes a run wait, not fail', async () => {
    const role = `rs_limited_${process.pid}_${Date.now()}`;
    const admin = t.db.pool;
    await admin.query(`CREATE ROLE "${role}" LOGIN PASSWORD 'limited'`);
    await admin.query(`GRANT ALL ON ALL TABLES IN SCHEMA public TO "${role}"`);
    await admin.query(`GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO "${role}"`);
    const url = new URL(t.url);
    url.username = role;
    url.password = 'limited';
    let db: Database | undefined;
    try {
      db = createDatabase({ url: url.toString(), poolSize: 4 });
      const limited = createRepositories(db);
      let refused = 0;
      const events: Pick<RunEventRepo, 'append'> = {
        append: (...args) =>
          limited.events.append(...args).catch((error: unknown) => {
            if ((error as { code?: string }).code === '53300') refused++;
            throw error;
          }),
      };
      gate = newGate();
      startWorker({ leaseMs: 60_000 }, { leases: limited.leases, events });
      const runId = await enqueue('gated');
      await vi.waitUntil(
        async () => (await eventsOf(runId)).some((e) => e.data.text === 'before'),
        poll,
      );
      // No new connection for the worker's role, and none of its current ones survives.
      await admin.query(`ALTER ROLE "${role}" CONNECTION LIMIT 0`);
      await admin.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1`,
        [role],
      );
      gate.open();
      await vi.waitUntil(() => refused >= 2, poll);
      expect((await repos.runs.getById(runId)).finishedAt).toBeNull();
      await admin.query(`ALTER ROLE "${role}" CONNECTION LIMIT -1`);
      const ended_ = await ended(runId);
      expect(ended_.at(-1)!.type).toBe('run.completed');
      expect(ended_.filter((e) => e.type === 'text.delta').map((e) => e.data.text)).toEqual([
        'before',
        ...Array.from({ length: 10 }, (_, i) => `after ${i}`),
      ]);
      expect(
        logged.filter((l) => l.message.startsWith('database unreachable')).length,
      ).toBeGreaterThan(0);
    } finally {
      gate.open();
      await Promise.all(workers.splice(0).map((w) => w.stop({ drainMs: 0 })));
      await db?.close();
      await admin.query(`DROP OWNED BY "${role}"`);
      await admin.query(`DROP ROLE "${role}"`);
    }
  });
});

describe('per-run limits', () => {
  it('RUNSTREAM_RUN_MAX_EVENTS: a run whose nodes emit more ends LIMIT_EXCEEDED after exactly that many', async () => {
    startWorker({ limits: { maxEvents: 10 } });
    const runId = await enqueue('ticks', { events: 50 });
    const events = await ended(runId);
    expect(events.filter((e) => e.type === 'synthetic.tick')).toHaveLength(10);
    expect(events.at(-1)).toMatchObject({
      type: 'run.failed',
      data: { error: { code: 'LIMIT_EXCEEDED', details: { limit: 'events', max: 10 } } },
    });
    expect((await repos.runs.getById(runId)).error).toMatchObject({ code: 'LIMIT_EXCEEDED' });
  });

  it('RUNSTREAM_RUN_MAX_BYTES: a run whose event data passes the byte limit ends LIMIT_EXCEEDED', async () => {
    startWorker({ limits: { maxBytes: 5000 } });
    const runId = await enqueue('ticks', { events: 50, payloadBytes: 1000 });
    const events = await ended(runId);
    const ticks = events.filter((e) => e.type === 'synthetic.tick');
    const bytes = ticks.reduce((sum, e) => sum + Buffer.byteLength(JSON.stringify(e.data)), 0);
    expect(ticks.length).toBeGreaterThan(0);
    expect(bytes).toBeLessThanOrEqual(5000);
    expect(events.at(-1)).toMatchObject({
      type: 'run.failed',
      data: { error: { code: 'LIMIT_EXCEEDED', details: { limit: 'bytes', max: 5000 } } },
    });
  });

  it('RUNSTREAM_RUN_MAX_DURATION_MS: a run that outlives its wall time ends LIMIT_EXCEEDED', async () => {
    startWorker({ limits: { maxDurationMs: 200 } });
    const runId = await enqueue('until-aborted');
    const events = await ended(runId);
    expect(events.at(-1)).toMatchObject({
      type: 'run.failed',
      data: { error: { code: 'LIMIT_EXCEEDED', details: { limit: 'durationMs', max: 200 } } },
    });
  });
});

describe('an unreachable database', () => {
  it('row 97: the loops back off and log one warning per outage, then say when it is back', async () => {
    const proxy = await startPostgresProxy(t.url);
    const db = createDatabase({ url: proxy.url, poolSize: 4 });
    try {
      const proxied = createRepositories(db);
      const before = logged.length;
      proxy.refuse = true;
      startWorker(
        { pollMs: 20, cancelPollMs: 20, reapMs: 20 },
        { leases: proxied.leases, events: proxied.events, graphs: proxied.graphs },
      );
      await vi.waitUntil(() => proxy.connections >= 3, poll);
      const start = proxy.connections;
      await sleep(1500);
      // Without backoff, two loops every 20 ms try about 150 connections in 1.5 s.
      expect(proxy.connections - start).toBeLessThan(30);
      const lines = logged.slice(before);
      expect(lines.filter((l) => l.message.startsWith('database unreachable'))).toHaveLength(1);
      expect(lines.filter((l) => l.message.endsWith('failed'))).toHaveLength(0);
      proxy.refuse = false;
      await vi.waitUntil(
        () => logged.slice(before).some((l) => l.message === 'database reachable again'),
        poll,
      );
      const runId = await enqueue('ticks', { events: 3 });
      await ended(runId);
    } finally {
      await Promise.all(workers.splice(0).map((w) => w.stop({ drainMs: 0 })));
      await db.close();
      await proxy.close();
    }
  });
});

describe('the graphs a worker serves', () => {
  it('registers them at start and keeps them live on its heartbeat', async () => {
    await t.db.pool.query(`UPDATE graph_registrations SET live_until = now() - interval '1 s'`);
    startWorker({ registrationMs: 20 });
    const live = async () =>
      (
        await t.db.pool.query<{ name: string }>(
          `SELECT name FROM graph_registrations WHERE live_until > now() ORDER BY name`,
        )
      ).rows.map((r) => r.name);
    await vi.waitUntil(async () => (await live()).length === registry.names().length, poll);
    expect(await live()).toEqual(registry.names());
    const seen = async () =>
      (
        await t.db.pool.query<{ at: Date }>(
          `SELECT max(last_seen_at) AS at FROM graph_registrations`,
        )
      ).rows[0]!.at;
    const first = await seen();
    await vi.waitUntil(async () => (await seen()).getTime() > first.getTime(), poll);
  });

  it('rolling deploy: never claims a run of a graph it does not serve; the run waits queued, never UNKNOWN_GRAPH', async () => {
    // Another worker (of a newer deploy) registered `newer`; this one does not serve it.
    await repos.graphs.register(
      [{ name: 'newer', version: 'n1', inputSchema: { type: 'object' } }],
      { liveForMs: 60_000 },
    );
    const waiting = await enqueue('newer', {});
    startWorker();
    // A run queued after it ends: the worker has claimed past the other one.
    await ended(await enqueue('ticks', { events: 1 }));
    expect(await repos.runs.getById(waiting)).toMatchObject({ status: 'queued', nextSeq: 2 });
    expect((await eventsOf(waiting)).map((e) => e.type)).toEqual(['run.queued']);
    await t.db.pool.query('DELETE FROM runs WHERE id = $1', [waiting]);
  });
});
