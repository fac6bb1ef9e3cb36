import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { createGraphCatalog, createRun } from '@runstream/graph-catalog';
import { readRunEvents, refuseConnections } from '@runstream/persistence/testing';
import { occupyPort } from '@runstream/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import { type WorkerProcess, spawnWorker, useWorkerDatabase } from './testing/worker-process.js';

const t = useWorkerDatabase({ beforeAll, afterAll, afterEach }, { poolSize: 4 });
const repos = t.repos;

const poll = { timeout: 20_000, interval: 25 };

/** Fast leases and polls, so that a lost database shows within a second. */
function workerEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: t.url,
    RUNSTREAM_RUN_WORKER_LEASE_MS: '1000',
    RUNSTREAM_RUN_WORKER_POLL_MS: '20',
    RUNSTREAM_RUN_WORKER_REAP_MS: '100',
    ...extra,
  };
}

async function enqueue(input: Record<string, unknown>): Promise<string> {
  const { run } = await createRun(
    { runs: repos.runs, catalog: createGraphCatalog({ registry: repos.graphs }) },
    { tenant: 't', graph: 'synthetic', input },
  );
  return run.id;
}

async function get(port: number, path: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: response.status, body: await response.text() };
}

/** The value of one sample in a Prometheus text exposition, or undefined when it is absent. */
function sample(metrics: string, name: string): number | undefined {
  const line = metrics.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

/** A failed start: exit code 1 and exactly one line, `VARIABLE: problem`, with no stack trace. */
async function expectStartupFailure(worker: WorkerProcess, variable: string): Promise<void> {
  const exit = await worker.exited;
  const out = worker.output();
  expect(out.trim().split('\n'), out).toHaveLength(1);
  expect(out).toMatch(new RegExp(`^${variable}: \\S`));
  expect(out).not.toMatch(/\bat .+:\d+:\d+|node_modules|Error:/);
  expect(exit).toEqual({ code: 1, signal: null });
}

describe('run-worker endpoints', () => {
  it('1: serves /healthz, /readyz and /metrics on RUNSTREAM_RUN_WORKER_METRICS_PORT, and counts what it did', async () => {
    const worker = spawnWorker(workerEnv());
    const port = await worker.metricsPort();
    await worker.started();
    expect(await get(port, '/healthz')).toMatchObject({ status: 200 });
    const ready = await get(port, '/readyz');
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body)).toEqual({ status: 'ready', checks: { database: 'ok' } });
    expect((await get(port, '/nope')).status).toBe(404);

    const runId = await enqueue({ events: 5 });
    await vi.waitUntil(async () => (await repos.runs.getById(runId)).finishedAt, poll);
    const written = (await readRunEvents(t.db, runId)).length - 1; // run.queued came from enqueue
    const response = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const metrics = await response.text();
    expect(sample(metrics, 'runstream_run_worker_runs_claimed_total')).toBe(1);
    expect(sample(metrics, 'runstream_run_worker_runs_ended_total{status="succeeded"}')).toBe(1);
    expect(sample(metrics, 'runstream_run_worker_runs_active')).toBe(0);
    expect(sample(metrics, 'runstream_run_worker_events_appended_total')).toBe(written);
    expect(sample(metrics, 'runstream_run_worker_append_duration_seconds_count')).toBeGreaterThan(
      0,
    );
    expect(metrics).not.toMatch(/^runstream_run_worker_append_failures_total\{/m);
    expect(sample(metrics, 'runstream_run_worker_lease_renew_failures_total')).toBe(0);
    expect(sample(metrics, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    // SIGINT (Ctrl-C) stops it as cleanly as SIGTERM.
    expect(await worker.kill('SIGINT')).toEqual({ code: 0, signal: null });
  });

  it('1: /readyz turns 503 while the database refuses connections, and 200 when it is back; lease renewals that failed are counted', async () => {
    const worker = spawnWorker(workerEnv());
    const port = await worker.metricsPort();
    await worker.started();
    const runId = await enqueue({ events: 10_000, delayMs: 20 });
    await vi.waitUntil(async () => (await repos.runs.getById(runId)).status === 'running', poll);
    const refused = await refuseConnections(t, 'runstream-run-worker');
    try {
      expect(refused.ended).toBeGreaterThan(0);
      const down = await get(port, '/readyz');
      expect(down.status).toBe(503);
      expect(JSON.parse(down.body)).toEqual({
        status: 'unavailable',
        checks: { database: 'down' },
      });
      expect((await get(port, '/healthz')).status).toBe(200);
      await vi.waitUntil(
        async () =>
          (sample(
            (await get(port, '/metrics')).body,
            'runstream_run_worker_lease_renew_failures_total',
          ) ?? 0) > 0,
        poll,
      );
    } finally {
      await refused.restore();
    }
    await vi.waitUntil(async () => (await get(port, '/readyz')).status === 200, poll);
    expect(await worker.kill('SIGTERM')).toEqual({ code: 0, signal: null });
  });
});

describe('run-worker start-up', () => {
  it('2 (row 96): a metrics port in use is one line naming RUNSTREAM_RUN_WORKER_METRICS_PORT, exit 1', async () => {
    const held = await occupyPort();
    try {
      await expectStartupFailure(
        spawnWorker(workerEnv({ RUNSTREAM_RUN_WORKER_METRICS_PORT: String(held.port) })),
        'RUNSTREAM_RUN_WORKER_METRICS_PORT',
      );
    } finally {
      await held.release();
    }
  });

  it('2 (row 96): a metrics host that does not resolve is one line naming RUNSTREAM_RUN_WORKER_METRICS_HOST, exit 1', async () => {
    await expectStartupFailure(
      spawnWorker(workerEnv({ RUNSTREAM_RUN_WORKER_METRICS_HOST: 'not-a-host.invalid' })),
      'RUNSTREAM_RUN_WORKER_METRICS_HOST',
    );
  });

  it('3: a metrics port that is not decimal digits is one line naming it, exit 1', async () => {
    await expectStartupFailure(
      spawnWorker(workerEnv({ RUNSTREAM_RUN_WORKER_METRICS_PORT: '0x50' })),
      'RUNSTREAM_RUN_WORKER_METRICS_PORT',
    );
  });

  it('2 (row 97): an unreachable database is logged within 5 s in one line naming DATABASE_URL, without a stack, and the worker starts once it answers', async () => {
    const refused = await refuseConnections(t, 'runstream-run-worker');
    let worker: WorkerProcess;
    try {
      worker = spawnWorker(workerEnv());
      const port = await worker.metricsPort();
      await vi.waitUntil(() => /unreachable/.test(worker.output()), {
        timeout: 5000,
        interval: 20,
      });
      expect((await get(port, '/readyz')).status).toBe(503);
      const complaints = worker
        .output()
        .split('\n')
        .filter((line) => /"level":(40|50)/.test(line));
      expect(complaints).toHaveLength(1);
      expect(complaints[0]).toContain('DATABASE_URL');
      expect(worker.output()).not.toMatch(/"stack"|\n\s+at /);
      expect(worker.output()).not.toMatch(/run-worker started/);
    } finally {
      await refused.restore();
    }
    await worker.started();
    const runId = await enqueue({ events: 3 });
    await vi.waitUntil(async () => (await repos.runs.getById(runId)).status === 'succeeded', poll);
    expect(await worker.kill('SIGTERM')).toEqual({ code: 0, signal: null });
  });

  it('4: stops on SIGTERM with exit 0 while it still waits for the database', async () => {
    const worker = spawnWorker(workerEnv({ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none' }));
    await vi.waitUntil(() => /unreachable/.test(worker.output()), { timeout: 5000, interval: 20 });
    const stoppedAt = Date.now();
    expect(await worker.kill('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(Date.now() - stoppedAt).toBeLessThan(10_000);
  });
});

describe('RUNSTREAM_GRAPHS', () => {
  const dir = mkdtempSync(join(tmpdir(), 'runstream-graphs-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  /** Writes a module into the test's folder and returns its absolute path. */
  const module = (name: string, source: string): string => {
    const path = join(dir, name);
    writeFileSync(path, source);
    return path;
  };

  it.each([
    ['a file that does not exist', () => join(dir, 'missing.mjs'), /no such file/],
    ['a package that is not installed', () => '@nobody/no-such-graphs', /no such package/],
    [
      'a module that throws as it loads',
      () => module('throws.mjs', "throw new Error('broken on purpose');\n"),
      /failed to load: broken on purpose/,
    ],
    [
      'a module that exports no graph',
      () => module('nothing.mjs', 'export default { hello: 1 };\n'),
      /exports no graph/,
    ],
    [
      'a graph whose name a built-in has',
      () =>
        module(
          'clash.mjs',
          "export default { name: 'demo', start: 'a', nodes: { a: () => 1 }, input: { safeParse: () => ({}) } };\n",
        ),
      /graph "demo" is already registered/,
    ],
  ])(
    '%s stops the worker at start: one line naming RUNSTREAM_GRAPHS, exit 1',
    async (_case, specifier, reason) => {
      const worker = spawnWorker(workerEnv({ RUNSTREAM_GRAPHS: specifier() }));
      await expectStartupFailure(worker, 'RUNSTREAM_GRAPHS');
      expect(worker.output()).toMatch(reason);
    },
  );
});
