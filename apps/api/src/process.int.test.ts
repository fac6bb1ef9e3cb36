import type { ChildProcess } from 'node:child_process';

import { type AppName, freePort, occupyPort, processGroup, spawnApp } from '@runstream/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import { openSse } from '@runstream/stream/testing';

import { type StreamFixture, openFixture, range } from './testing/harness.js';

let fx: StreamFixture;
const group = processGroup();

beforeAll(async () => {
  fx = await openFixture();
});
afterEach(() => group.killAll());
afterAll(async () => {
  await fx.close();
});

interface Spawned {
  child: ChildProcess;
  /** The exit code, what the process wrote to stderr, and all it wrote (stdout and stderr). */
  exit: Promise<{ code: number | null; stderr: string; output: string }>;
}

function start(name: AppName, env: Record<string, string>): Spawned {
  const spawned = group.add(
    spawnApp(name, { env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', ...env } }),
  );
  const exit = spawned.exited.then(({ code }) => ({
    code,
    stderr: spawned.stderr(),
    output: spawned.output(),
  }));
  return { child: spawned.child, exit };
}

/** A failed start: exit code 1 and one line on stderr, `VARIABLE: problem`, and nothing else at all. */
async function expectStartupFailure(spawned: Spawned, variable: string): Promise<string> {
  const { code, stderr, output } = await spawned.exit;
  expect(output, 'everything the process wrote').toBe(stderr);
  expect(stderr.trim().split('\n'), stderr).toHaveLength(1);
  expect(stderr).toMatch(new RegExp(`^${variable}: \\S`));
  expect(stderr).not.toMatch(/\bat .+:\d+:\d+|node_modules|BusError|Error:/);
  expect(code).toBe(1);
  return stderr.trim();
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

  // Keys set, so that the auth-off warning is not a line of its own; info level, so that any other
  // line the failed start wrote would show.
  const keyed = { RUNSTREAM_API_KEYS: 'acme:key-acme-123456789', LOG_LEVEL: 'info' };

  it('2 (row 95): an unreachable NATS bus at start is one line naming RUNSTREAM_BUS, exit 1', async () => {
    const port = await freePort();
    const line = await expectStartupFailure(
      start('api', {
        DATABASE_URL: fx.testDb.url,
        RUNSTREAM_BUS: `nats://127.0.0.1:${port}`,
        ...keyed,
      }),
      'RUNSTREAM_BUS',
    );
    expect(line).toContain(`127.0.0.1:${port}`);
  });

  it('2 (row 96): a PORT in use is one line naming PORT, exit 1', async () => {
    const held = await occupyPort();
    try {
      const line = await expectStartupFailure(
        start('api', { DATABASE_URL: fx.testDb.url, PORT: String(held.port), ...keyed }),
        'PORT',
      );
      expect(line).toContain(String(held.port));
    } finally {
      await held.release();
    }
  });

  it('2 (row 96): a HOST that does not resolve is one line naming HOST, exit 1', async () => {
    await expectStartupFailure(
      start('api', { DATABASE_URL: fx.testDb.url, HOST: 'not-a-host.invalid', ...keyed }),
      'HOST',
    );
  });

  it('3 (row 89): PORT=0x50 is refused, not read as port 80', async () => {
    const line = await expectStartupFailure(
      start('api', { DATABASE_URL: fx.testDb.url, PORT: '0x50', ...keyed }),
      'PORT',
    );
    expect(line).toBe('PORT: must be a whole number from 0 to 65535');
  });

  it('4: stops on SIGINT (Ctrl-C) as on SIGTERM: exit 0 within 10 s', async () => {
    const { api } = await startApi();
    const stoppedAt = Date.now();
    api.child.kill('SIGINT');
    expect((await api.exit).code).toBe(0);
    expect(Date.now() - stoppedAt).toBeLessThan(10_000);
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
    start('run-worker', { DATABASE_URL: fx.testDb.url, RUNSTREAM_RUN_WORKER_METRICS_PORT: '0' });
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
