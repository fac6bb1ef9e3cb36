import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import { freePort } from '@runstream/persistence/testing';
import { openSse } from '@runstream/stream/testing';

import { type StreamFixture, openFixture, range } from './testing/harness.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const app = (name: string) => `${root}apps/${name}/dist/main.js`;

let fx: StreamFixture;
const children: ChildProcess[] = [];

beforeAll(async () => {
  fx = await openFixture();
});
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});
afterAll(async () => {
  await fx.close();
});

interface Spawned {
  child: ChildProcess;
  exit: Promise<{ code: number | null; stderr: string }>;
}

function start(name: string, env: Record<string, string>): Spawned {
  const child = spawn(process.execPath, [app(name)], {
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exit = new Promise<{ code: number | null; stderr: string }>((resolve) =>
    child.once('exit', (code) => resolve({ code, stderr })),
  );
  return { child, exit };
}

async function startApi(env: Record<string, string> = {}): Promise<{ url: string; api: Spawned }> {
  const port = await freePort();
  const api = start('api', {
    DATABASE_URL: fx.testDb.url,
    PORT: String(port),
    RUNSTREAM_SSE_HEARTBEAT_MS: '300',
    ...env,
  });
  const url = `http://127.0.0.1:${port}`;
  await vi.waitUntil(
    async () => (await fetch(`${url}/readyz`).catch(() => undefined))?.status === 200,
    { timeout: 20_000, interval: 20 },
  );
  return { url, api };
}

describe('the api process', () => {
  it('refuses a non-loopback HOST with auth off: exit 1, one line naming HOST', async () => {
    const { exit } = start('api', { DATABASE_URL: fx.testDb.url, HOST: '0.0.0.0' });
    const { code, stderr } = await exit;
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/^HOST: /);
  });

  it('names a bad variable in one line and exits 1', async () => {
    const { code, stderr } = await start('api', {
      DATABASE_URL: fx.testDb.url,
      RUNSTREAM_API_KEYS: 'nocolon',
    }).exit;
    expect(code).toBe(1);
    expect(stderr.trim()).toMatch(/^RUNSTREAM_API_KEYS: [^\n]+$/);
  });

  it('ends open streams on SIGTERM and exits 0 within 10 s', async () => {
    // No outbox worker here: committed replay lets the streams see the run's first event.
    const { url, api } = await startApi({ RUNSTREAM_SSE_REPLAY: 'committed' });
    const created = await fetch(`${url}/v1/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ graph: 'synthetic', input: { events: 10 } }),
    });
    expect(created.status).toBe(201);
    const run = (await created.json()) as { id: string };
    const clients = Array.from({ length: 3 }, () => openSse(`${url}/v1/runs/${run.id}/events`));
    await Promise.all(clients.map((c) => c.waitFor((events) => events.length >= 1)));
    const stoppedAt = Date.now();
    api.child.kill('SIGTERM');
    const { code } = await api.exit;
    expect(code).toBe(0);
    expect(Date.now() - stoppedAt).toBeLessThan(10_000);
    for (const client of clients) {
      await client.closed;
      expect(client.events.map((e) => e.type)).toEqual(['run.queued']);
    }
  });

  it('end to end with the real workers: a streamed run arrives whole, across an api restart', async () => {
    const bus = { RUNSTREAM_BUS: 'postgres' };
    start('outbox-worker', {
      DATABASE_URL: fx.testDb.url,
      RUNSTREAM_OUTBOX_METRICS_PORT: '0',
      ...bus,
    });
    start('run-worker', { DATABASE_URL: fx.testDb.url });
    const first = await startApi(bus);
    const created = await fetch(`${first.url}/v1/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'e2e' },
      body: JSON.stringify({ graph: 'synthetic', input: { events: 3000, delayMs: 1 } }),
    });
    const run = (await created.json()) as { id: string };
    const before = openSse(`${first.url}/v1/runs/${run.id}/events`);
    await before.waitFor((events) => events.length >= 200, 60_000);
    first.api.child.kill('SIGKILL');
    await before.closed;
    const second = await startApi(bus);
    const last = before.events.at(-1)!.seq;
    const after = openSse(`${second.url}/v1/runs/${run.id}/events`, {
      'last-event-id': String(last),
    });
    await after.closed;
    const all = [...before.events, ...after.events];
    expect(all.map((e) => e.seq)).toEqual(range(1, all.length));
    expect(all.at(-1)!.type).toBe('run.completed');
    expect(all.filter((e) => e.type === 'run.completed')).toHaveLength(1);
  });
});
