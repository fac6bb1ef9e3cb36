import { createServer } from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import { type HealthServer, startHealthServer } from './health-server.js';
import { StartupError } from './startup-error.js';
import type { Dependency } from './wait-for-dependency.js';

const metrics = {
  contentType: 'text/plain; version=0.0.4; charset=utf-8',
  metrics: async () => 'runstream_test_total 3\n',
};

const names = { hostVariable: 'TEST_HOST', portVariable: 'TEST_PORT' };

const dependency = (name: string, check: () => Promise<unknown>): Dependency => ({
  name,
  variable: `${name.toUpperCase()}_URL`,
  check,
});

const open: HealthServer[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

async function start(dependencies: Dependency[], readyTimeoutMs = 100): Promise<string> {
  const server = await startHealthServer({
    host: '127.0.0.1',
    port: 0,
    ...names,
    dependencies,
    readyTimeoutMs,
    metrics,
  });
  open.push(server);
  expect(server.port).toBeGreaterThan(0);
  return `http://127.0.0.1:${server.port}`;
}

async function get(url: string): Promise<{ status: number; body: unknown; type: string | null }> {
  const response = await fetch(url);
  const type = response.headers.get('content-type');
  const text = await response.text();
  return {
    status: response.status,
    type,
    body: type === 'application/json' ? JSON.parse(text) : text,
  };
}

describe('startHealthServer', () => {
  it('answers /healthz, /readyz and /metrics, and 404 elsewhere', async () => {
    const url = await start([dependency('database', async () => 1)]);
    expect(await get(`${url}/healthz`)).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect(await get(`${url}/readyz`)).toMatchObject({
      status: 200,
      body: { status: 'ready', checks: { database: 'ok' } },
    });
    expect(await get(`${url}/metrics`)).toEqual({
      status: 200,
      type: metrics.contentType,
      body: 'runstream_test_total 3\n',
    });
    expect((await get(`${url}/nope`)).status).toBe(404);
    expect((await fetch(`${url}/healthz`, { method: 'POST' })).status).toBe(405);
  });

  it('is not ready while a dependency fails, answers false, or does not answer within the deadline', async () => {
    const url = await start(
      [
        dependency('database', async () => 1),
        dependency('bus', async () => false),
        dependency('cache', () => Promise.reject(new Error('refused'))),
        // A silent network: the check neither resolves nor rejects.
        dependency('search', () => new Promise(() => undefined)),
      ],
      50,
    );
    expect(await get(`${url}/readyz`)).toMatchObject({
      status: 503,
      body: {
        status: 'unavailable',
        checks: { database: 'ok', bus: 'down', cache: 'down', search: 'down' },
      },
    });
    // Alive all the same: liveness does not depend on what the process talks to.
    expect((await get(`${url}/healthz`)).status).toBe(200);
  });

  it('2: a port in use rejects with a StartupError naming the port variable', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const { port } = holder.address() as { port: number };
    try {
      const failure = await startHealthServer({
        host: '127.0.0.1',
        port,
        ...names,
        dependencies: [],
        metrics,
      }).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(StartupError);
      expect((failure as StartupError).code).toBe('PORT_IN_USE');
      expect((failure as StartupError).toLine()).toMatch(new RegExp(`^TEST_PORT: port ${port} `));
    } finally {
      await new Promise<void>((resolve) => holder.close(() => resolve()));
    }
  });

  it('2: a host that does not resolve rejects with a StartupError naming the host variable', async () => {
    const failure = await startHealthServer({
      host: 'not-a-host.invalid',
      port: 0,
      ...names,
      dependencies: [],
      metrics,
    }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(StartupError);
    expect((failure as StartupError).toLine()).toMatch(
      /^TEST_HOST: cannot resolve not-a-host\.invalid/,
    );
  });

  it('closes with keep-alive connections open', async () => {
    const url = await start([]);
    const server = open.pop()!;
    expect((await fetch(`${url}/healthz`, { keepalive: true })).status).toBe(200);
    await server.close();
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });
});
