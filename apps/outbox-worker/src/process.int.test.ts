import { refuseConnections, useTestDatabase } from '@runstream/persistence/testing';
import { freePort, occupyPort } from '@runstream/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import {
  type WorkerProcess,
  killAllWorkers,
  spawnWorker,
  takeWorkerOutputs,
} from './testing/harness.js';

const t = useTestDatabase({ beforeAll, afterAll }, { poolSize: 2 });

afterAll(async () => {
  await killAllWorkers();
});
afterEach(async (context) => {
  await killAllWorkers();
  const outputs = takeWorkerOutputs();
  if (context.task.result?.state === 'fail')
    for (const out of outputs) process.stderr.write(`--- worker output ---\n${out}\n`);
});

const poll = { timeout: 15_000, interval: 20 };

/** A failed start: exit code 1 and exactly one line, `VARIABLE: problem`, with no stack trace. */
async function expectStartupFailure(worker: WorkerProcess, variable: string): Promise<string> {
  const exit = await worker.exited;
  const out = worker.output();
  expect(out.trim().split('\n'), out).toHaveLength(1);
  expect(out).toMatch(new RegExp(`^${variable}: \\S`));
  expect(out).not.toMatch(/\bat .+:\d+:\d+|node_modules|Error:/);
  expect(exit).toEqual({ code: 1, signal: null });
  return out.trim();
}

async function get(port: number, path: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: response.status, body: await response.text() };
}

describe('outbox-worker start-up failures', () => {
  it('2 (row 95): an unreachable NATS bus is one line naming RUNSTREAM_BUS, exit 1', async () => {
    const port = await freePort();
    const line = await expectStartupFailure(
      spawnWorker({ DATABASE_URL: t.url, RUNSTREAM_BUS: `nats://127.0.0.1:${port}` }),
      'RUNSTREAM_BUS',
    );
    expect(line).toContain(`127.0.0.1:${port}`);
  });

  it('2 (row 96): a metrics port in use is one line naming RUNSTREAM_OUTBOX_METRICS_PORT, exit 1', async () => {
    const held = await occupyPort();
    try {
      await expectStartupFailure(
        spawnWorker({ DATABASE_URL: t.url, RUNSTREAM_OUTBOX_METRICS_PORT: String(held.port) }),
        'RUNSTREAM_OUTBOX_METRICS_PORT',
      );
    } finally {
      await held.release();
    }
  });

  it('2 (row 96): a metrics host that does not resolve is one line naming RUNSTREAM_OUTBOX_METRICS_HOST, exit 1', async () => {
    await expectStartupFailure(
      spawnWorker({ DATABASE_URL: t.url, RUNSTREAM_OUTBOX_METRICS_HOST: 'not-a-host.invalid' }),
      'RUNSTREAM_OUTBOX_METRICS_HOST',
    );
  });

  it('2 (row 97): an unreachable database is logged within 5 s, in one line naming DATABASE_URL, and retried until it answers', async () => {
    const refused = await refuseConnections(t, 'runstream-outbox-worker');
    let worker: WorkerProcess;
    try {
      worker = spawnWorker({ DATABASE_URL: t.url });
      const port = await worker.metricsPort();
      await vi.waitUntil(() => /unreachable/.test(worker.output()), {
        timeout: 5000,
        interval: 20,
      });
      const lines = worker.output().trim().split('\n');
      const complaint = lines.find((line) => line.includes('unreachable'))!;
      expect(complaint).toContain('DATABASE_URL');
      expect(worker.output()).not.toMatch(/"stack"|\n\s+at /);
      // Alive and saying it is not ready: an orchestrator holds traffic back, it does not restart it.
      expect((await get(port, '/healthz')).status).toBe(200);
      expect((await get(port, '/readyz')).status).toBe(503);
      expect(worker.output()).not.toMatch(/outbox worker started/);
    } finally {
      await refused.restore();
    }
    await vi.waitUntil(() => /outbox worker started/.test(worker.output()), poll);
    expect((await get(await worker.metricsPort(), '/readyz')).status).toBe(200);
    expect(await worker.kill('SIGTERM')).toEqual({ code: 0, signal: null });
  });

  it('4: stops on SIGTERM with exit 0 while it still waits for the database', async () => {
    const worker = spawnWorker({ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none' });
    await vi.waitUntil(() => /unreachable/.test(worker.output()), { timeout: 5000, interval: 20 });
    const stoppedAt = Date.now();
    expect(await worker.kill('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(Date.now() - stoppedAt).toBeLessThan(10_000);
  });
});

describe('outbox-worker endpoints', () => {
  it('1: /readyz answers 200 while the database and the bus answer, 503 while the database refuses, 200 again after', async () => {
    const worker = spawnWorker({ DATABASE_URL: t.url });
    const port = await worker.metricsPort();
    await vi.waitUntil(async () => (await get(port, '/readyz')).status === 200, poll);
    expect(JSON.parse((await get(port, '/readyz')).body)).toEqual({
      status: 'ready',
      checks: { database: 'ok', bus: 'ok' },
    });
    const refused = await refuseConnections(t, 'runstream-outbox-worker');
    try {
      expect(refused.ended).toBeGreaterThan(0);
      const down = await get(port, '/readyz');
      expect(down.status).toBe(503);
      expect(JSON.parse(down.body)).toMatchObject({
        status: 'unavailable',
        checks: { database: 'down' },
      });
      expect((await get(port, '/healthz')).status).toBe(200);
    } finally {
      await refused.restore();
    }
    await vi.waitUntil(async () => (await get(port, '/readyz')).status === 200, poll);
    expect((await get(port, '/metrics')).body).toMatch(/^runstream_outbox_lag_seconds /m);
    // SIGINT (Ctrl-C) stops it as cleanly as SIGTERM.
    expect(await worker.kill('SIGINT')).toEqual({ code: 0, signal: null });
  });
});
