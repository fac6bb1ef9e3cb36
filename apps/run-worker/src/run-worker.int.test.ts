import { createGraphCatalog, createRun } from '@runstream/graph-catalog';
import { type RunEventRow, assertEndedRun, readRunEvents } from '@runstream/persistence/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import { spawnWorker, useWorkerDatabase } from './testing/worker-process.js';

const t = useWorkerDatabase({ beforeAll, afterAll, afterEach }, { poolSize: 6 });
const repos = t.repos;

/** How long and how often the tests poll the database or a worker's output for a condition. */
const poll = { timeout: 20_000, interval: 25 };

/** Fast leases and polls, so that crash and cancel tests take seconds. */
function workerEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: t.url,
    RUNSTREAM_RUN_WORKER_LEASE_MS: '1000',
    RUNSTREAM_RUN_WORKER_POLL_MS: '20',
    RUNSTREAM_RUN_WORKER_CANCEL_POLL_MS: '100',
    RUNSTREAM_RUN_WORKER_REAP_MS: '100',
    ...extra,
  };
}

async function enqueue(
  input: Record<string, unknown>,
  graph = 'synthetic',
  tenant = 't',
): Promise<string> {
  const { run } = await createRun(
    { runs: repos.runs, catalog: createGraphCatalog({ registry: repos.graphs }) },
    { tenant, graph, input },
  );
  return run.id;
}

const eventsOf = (runId: string): Promise<RunEventRow[]> => readRunEvents(t.db, runId);

async function count(runId: string, type: string): Promise<number> {
  const { rows } = await t.db.pool.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM run_events WHERE run_id = $1 AND type = $2',
    [runId, type],
  );
  return rows[0]!.n;
}

/** Waits for the run's terminal event and checks I2 and I5 on the whole run. */
async function ended(runId: string, timeoutMs = 30_000): Promise<RunEventRow[]> {
  const events = await vi.waitUntil(
    async () => {
      const run = await repos.runs.getById(runId);
      return run.finishedAt ? eventsOf(runId) : undefined;
    },
    { timeout: timeoutMs, interval: 25 },
  );
  assertEndedRun(events);
  return events;
}

describe('run-worker processes', () => {
  it('executes 20 runs on 2 processes with concurrency 4 each exactly once', async () => {
    const a = spawnWorker(workerEnv({ RUNSTREAM_RUN_WORKER_CONCURRENCY: '4' }));
    const b = spawnWorker(workerEnv({ RUNSTREAM_RUN_WORKER_CONCURRENCY: '4' }));
    const ids = await Promise.all([a.started(), b.started()]);
    const runIds = await Promise.all(
      Array.from({ length: 20 }, () => enqueue({ events: 20, delayMs: 10 })),
    );
    const byWorker = new Map<string, number>();
    for (const runId of runIds) {
      const events = await ended(runId);
      const started = events.filter((e) => e.type === 'run.started');
      expect(started).toHaveLength(1);
      expect(events.filter((e) => e.type === 'synthetic.tick')).toHaveLength(20);
      expect(events.at(-1)!.type).toBe('run.completed');
      const worker = started[0]!.data.worker as string;
      byWorker.set(worker, (byWorker.get(worker) ?? 0) + 1);
    }
    expect([...byWorker.keys()].sort()).toEqual([...ids].sort());
    expect([...byWorker.values()].reduce((x, y) => x + y, 0)).toBe(20);
    await Promise.all([a.kill('SIGTERM'), b.kill('SIGTERM')]);
    expect(await a.exited).toEqual({ code: 0, signal: null });
    expect(await b.exited).toEqual({ code: 0, signal: null });
  });

  it('ends the run of a worker killed with SIGKILL mid-run with WORKER_LOST, by the other worker', async () => {
    const doomed = spawnWorker(workerEnv());
    const doomedId = await doomed.started();
    const runId = await enqueue({ events: 10_000, delayMs: 5 });
    await vi.waitUntil(async () => (await count(runId, 'synthetic.tick')) >= 10, poll);
    const survivor = spawnWorker(workerEnv());
    const survivorId = await survivor.started();
    await doomed.kill('SIGKILL');
    const events = await ended(runId);
    expect(events.at(-1)).toMatchObject({
      type: 'run.failed',
      data: { error: { code: 'WORKER_LOST' } },
    });
    expect(events.filter((e) => e.type === 'run.started').map((e) => e.data.worker)).toEqual([
      doomedId,
    ]);
    // The survivor logs the take-over after its commit; wait for the line rather than race it.
    await vi.waitUntil(() => survivor.output().includes(`"lostOwner":"${doomedId}"`), poll);
    expect(survivorId).not.toBe(doomedId);
    expect((await repos.runs.getById(runId)).status).toBe('failed');
  });

  it('cancels a run mid-run with exactly one run.cancelled', async () => {
    const worker = spawnWorker(workerEnv());
    await worker.started();
    const runId = await enqueue({ events: 10_000, delayMs: 5 });
    await vi.waitUntil(async () => (await count(runId, 'synthetic.tick')) >= 10, poll);
    await repos.runs.requestCancel('t', runId);
    const events = await ended(runId);
    expect(events.at(-1)).toMatchObject({
      type: 'run.cancelled',
      data: { reason: 'cancel requested' },
    });
    // The contract's bound, measured on the database's clock: request to committed run.cancelled.
    const { rows } = await t.db.pool.query<{ ms: number }>(
      `SELECT EXTRACT(EPOCH FROM e.created_at - r.cancel_requested_at)::float8 * 1000 AS ms
         FROM runs r JOIN run_events e ON e.run_id = r.id AND e.terminal WHERE r.id = $1`,
      [runId],
    );
    expect(rows[0]!.ms).toBeLessThan(1000);
    expect(events.filter((e) => e.type === 'synthetic.tick').length).toBeLessThan(10_000);
    expect((await repos.runs.getById(runId)).status).toBe('cancelled');
  });

  it('ends a failAt run with run.failed right after the k-th event', async () => {
    const worker = spawnWorker(workerEnv());
    await worker.started();
    const runId = await enqueue({ events: 30, failAt: 12 });
    const events = await ended(runId);
    expect(events.map((e) => e.type)).toEqual([
      'run.queued',
      'run.started',
      ...Array<string>(12).fill('synthetic.tick'),
      'run.failed',
    ]);
    expect(events.at(-1)!.data).toMatchObject({ error: { code: 'SYNTHETIC_FAILURE' } });
  });

  it('runs the demo graph to one run.completed', async () => {
    const worker = spawnWorker(workerEnv());
    await worker.started();
    const events = await ended(await enqueue({ delayMs: 0 }, 'demo'));
    expect(events.at(-1)!.type).toBe('run.completed');
    expect(events.map((e) => e.type)).toContain('tool.result');
  });

  it('on SIGTERM stops claiming, lets short runs finish, ends long ones WORKER_SHUTDOWN, and exits 0', async () => {
    const worker = spawnWorker(workerEnv({ RUNSTREAM_RUN_WORKER_DRAIN_MS: '1500' }));
    await worker.started();
    const short = await enqueue({ events: 20, delayMs: 20 });
    const long = await enqueue({ events: 10_000, delayMs: 10 });
    await vi.waitUntil(async () => {
      const [a, b] = await Promise.all([count(short, 'run.started'), count(long, 'run.started')]);
      return a + b === 2;
    }, poll);
    const signalled = Date.now();
    worker.child.kill('SIGTERM');
    await vi.waitUntil(() => worker.output().includes('"msg":"shutting down"'), poll);
    // Enqueued while the worker drains: it must not be claimed.
    const queuedAfter = await enqueue({ events: 1 });
    expect(await worker.exited).toEqual({ code: 0, signal: null });
    expect(Date.now() - signalled).toBeLessThan(10_000);
    expect((await ended(short)).at(-1)!.type).toBe('run.completed');
    expect((await ended(long)).at(-1)).toMatchObject({
      type: 'run.failed',
      data: { error: { code: 'WORKER_SHUTDOWN' } },
    });
    expect((await repos.runs.getById(queuedAfter)).status).toBe('queued');
  });

  it("fairness: with tenant a's 40 long runs queued first, tenant b's run starts on a free slot", async () => {
    // Two workers, 4 slots; a may hold 3 of them at once, over both workers.
    const env = workerEnv({
      RUNSTREAM_RUN_WORKER_CONCURRENCY: '2',
      RUNSTREAM_TENANT_MAX_RUNNING: '3',
    });
    const workers = [spawnWorker(env), spawnWorker(env)];
    await Promise.all(workers.map((w) => w.started()));
    const flood: string[] = [];
    for (let i = 0; i < 40; i++)
      flood.push(await enqueue({ events: 100_000, delayMs: 50 }, 'synthetic', 'a'));
    const runningOf = async (tenant: string) =>
      (
        await t.db.pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM runs WHERE tenant = $1 AND status = 'running'`,
          [tenant],
        )
      ).rows[0]!.n;
    await vi.waitUntil(async () => (await runningOf('a')) === 3, poll);
    const b = await enqueue({ events: 1 }, 'synthetic', 'b');
    expect((await ended(b)).at(-1)!.type).toBe('run.completed');
    // a never went past its cap, and its backlog is still waiting.
    expect(await runningOf('a')).toBe(3);
    const started = await t.db.pool.query<{ n: number }>(
      `SELECT count(DISTINCT run_id)::int AS n FROM run_events WHERE type = 'run.started' AND run_id = ANY($1::uuid[])`,
      [flood],
    );
    expect(started.rows[0]!.n).toBe(3);
  });

  it('stops with one line naming the variable when the configuration is bad', async () => {
    const worker = spawnWorker(workerEnv({ RUNSTREAM_RUN_WORKER_CONCURRENCY: '0' }));
    expect(await worker.exited).toEqual({ code: 1, signal: null });
    expect(worker.output().trim()).toBe(
      'RUNSTREAM_RUN_WORKER_CONCURRENCY: must be a whole number from 1 to 10000',
    );
  });
});
