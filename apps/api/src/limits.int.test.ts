import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import { type Bus, createBus } from '@runstream/bus';
import { runQueuedEvent } from '@runstream/events';
import { openSse } from '@runstream/stream/testing';

import type { AppConfig } from './app.js';
import {
  type StreamFixture,
  type TestApi,
  appendEvents,
  openFixture,
  range,
  startTestApi,
} from './testing/harness.js';

const ACME = 'acme-key-0001';
const GLOBEX = 'globex-key-0002';
const auth = (key: string) => ({ authorization: `Bearer ${key}` });
const keys = [
  { tenant: 'acme', key: ACME },
  { tenant: 'globex', key: GLOBEX },
];

let fx: StreamFixture;
let bus: Bus;
const apis: TestApi[] = [];

beforeAll(async () => {
  fx = await openFixture();
  bus = await createBus({ kind: 'postgres' }, { databaseUrl: fx.testDb.url, name: 'limits-test' });
});
afterEach(async () => {
  for (const api of apis.splice(0)) await api.close();
});
afterAll(async () => {
  await bus.close();
  await fx.close();
});

async function api(config: Partial<AppConfig>): Promise<TestApi> {
  // No outbox runs here: committed events are what pages and streams show at once.
  const started = await startTestApi(
    fx.testDb,
    { apiKeys: keys, replay: 'committed', ...config },
    bus,
  );
  apis.push(started);
  return started;
}

async function counts(): Promise<{ runs: number; events: number }> {
  const { rows } = await fx.testDb.db.pool.query<{ runs: number; events: number }>(
    'SELECT (SELECT count(*)::int FROM runs) AS runs, (SELECT count(*)::int FROM run_events) AS events',
  );
  return rows[0]!;
}

async function clearTenant(tenant: string): Promise<void> {
  const { pool } = fx.testDb.db;
  await pool.query(
    'DELETE FROM run_outbox WHERE run_id IN (SELECT id FROM runs WHERE tenant = $1)',
    [tenant],
  );
  await pool.query(
    'DELETE FROM run_events WHERE run_id IN (SELECT id FROM runs WHERE tenant = $1)',
    [tenant],
  );
  await pool.query('DELETE FROM runs WHERE tenant = $1', [tenant]);
}

describe('RUNSTREAM_TENANT_MAX_QUEUED', () => {
  it('429 QUOTA_EXCEEDED past the queued runs of a tenant, nothing written, strict under concurrent creates', async () => {
    await clearTenant('acme');
    await clearTenant('globex');
    const { app } = await api({ limits: { maxQueuedRuns: 3 } });
    const create = (key: string) =>
      app.inject({
        method: 'POST',
        url: '/v1/runs',
        headers: auth(key),
        payload: { graph: 'synthetic', input: { events: 1 } },
      });
    const statuses = (await Promise.all(Array.from({ length: 10 }, () => create(ACME)))).map(
      (r) => r.statusCode,
    );
    expect(statuses.filter((s) => s === 201)).toHaveLength(3);
    expect(statuses.filter((s) => s === 429)).toHaveLength(7);
    const before = await counts();
    const refused = await create(ACME);
    expect(refused.statusCode).toBe(429);
    expect(refused.json()).toMatchObject({ error: { code: 'QUOTA_EXCEEDED' } });
    expect(await counts()).toEqual(before);
    expect((await create(GLOBEX)).statusCode).toBe(201);
  });
});

describe('RUNSTREAM_TENANT_MAX_STREAMS', () => {
  it('429 TOO_MANY_STREAMS before any frame past the open streams of a tenant; a closed stream frees its place', async () => {
    const { url, app } = await api({ limits: { maxStreams: 2 } });
    const run = await fx.repos.runs.create({
      tenant: 'acme',
      graph: 'synthetic',
      input: {},
      firstEvent: runQueuedEvent('synthetic'),
    });
    const stream = () => openSse(`${url}/v1/runs/${run.run.id}/events`, auth(ACME));
    const open = [stream(), stream()];
    await Promise.all(open.map((s) => s.waitFor((events) => events.length === 1)));
    const third = stream();
    expect((await third.response).status).toBe(429);
    await third.closed;
    expect(third.frames).toEqual([]);
    expect(JSON.parse(third.body)).toMatchObject({ error: { code: 'TOO_MANY_STREAMS' } });
    // Another tenant counts on its own.
    const globexRun = await fx.repos.runs.create({
      tenant: 'globex',
      graph: 'synthetic',
      input: {},
      firstEvent: runQueuedEvent('synthetic'),
    });
    const other = openSse(`${url}/v1/runs/${globexRun.run.id}/events`, auth(GLOBEX));
    expect((await other.response).status).toBe(200);
    other.close();
    open[0]!.close();
    await vi.waitUntil(
      async () => /runstream_sse_streams_open 1\b/.test((await app.inject('/metrics')).body),
      { timeout: 5000, interval: 20 },
    );
    const again = stream();
    expect((await again.response).status).toBe(200);
    again.close();
    open[1]!.close();
  });
});

describe('RUNSTREAM_EVENTS_PAGE_MAX_BYTES', () => {
  it('row 57: a JSON page ends early at the byte bound and nextSeq says where to go on', async () => {
    const { app } = await api({ limits: { pageMaxBytes: 50_000 } });
    const { run } = await fx.repos.runs.create({
      tenant: 'acme',
      graph: 'synthetic',
      input: {},
      firstEvent: runQueuedEvent('synthetic'),
    });
    await appendEvents(fx.repos, run.id, 30, { payloadBytes: 20_000, batch: 10 });
    const seen: number[] = [];
    let fromSeq = 1;
    for (let pages = 0; pages < 100; pages++) {
      const res = await app.inject({
        method: 'GET',
        url: `/v1/runs/${run.id}/events?fromSeq=${fromSeq}&limit=1000`,
        headers: auth(ACME),
      });
      expect(res.statusCode).toBe(200);
      // The bound, plus at most the one event that reached it and each event's envelope.
      expect(res.body.length).toBeLessThan(50_000 + 20_500 + 200 * 4);
      const page = res.json<{ events: { seq: number }[]; nextSeq: number; terminal: boolean }>();
      seen.push(...page.events.map((e) => e.seq));
      fromSeq = page.nextSeq;
      if (page.terminal) break;
    }
    expect(seen).toEqual(range(1, 32));
  });

  it('B7: an SSE replay of large events reads byte-bounded pages and delivers every event', async () => {
    const { url } = await api({ limits: { pageMaxBytes: 50_000 } });
    const { run } = await fx.repos.runs.create({
      tenant: 'acme',
      graph: 'synthetic',
      input: {},
      firstEvent: runQueuedEvent('synthetic'),
    });
    await appendEvents(fx.repos, run.id, 30, { payloadBytes: 20_000, batch: 10 });
    const client = openSse(`${url}/v1/runs/${run.id}/events`, auth(ACME));
    await client.closed;
    expect(client.events.map((e) => e.seq)).toEqual(range(1, 32));
  });
});

describe('RUNSTREAM_AUTH_FAILURES_PER_MINUTE', () => {
  it('row 79: failed authentications past the limit are 429 RATE_LIMITED with Retry-After, counted per client address before auth', async () => {
    const { app } = await api({ limits: { authFailuresPerMinute: 5 } });
    const from = (remoteAddress: string, key: string) =>
      app.inject({ method: 'GET', url: '/v1/runs', headers: auth(key), remoteAddress });
    for (let i = 0; i < 5; i++)
      expect((await from('10.0.0.1', `wrong-key-${i}`)).statusCode).toBe(401);
    const limited = await from('10.0.0.1', 'wrong-key-x');
    expect(limited.statusCode).toBe(429);
    expect(limited.json()).toMatchObject({ error: { code: 'RATE_LIMITED' } });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    // Counted before auth: even the right key waits out the window from that address.
    expect((await from('10.0.0.1', ACME)).statusCode).toBe(429);
    // Another address is not affected; successes are never counted.
    for (let i = 0; i < 10; i++) expect((await from('10.0.0.2', ACME)).statusCode).toBe(200);
    expect((await from('10.0.0.2', 'wrong-key-y')).statusCode).toBe(401);
  });

  it('an IPv6 client is counted by its /64, which one host usually holds whole', async () => {
    const { app } = await api({ limits: { authFailuresPerMinute: 2 } });
    const from = (remoteAddress: string) =>
      app.inject({ method: 'GET', url: '/v1/runs', headers: auth('nope-nope'), remoteAddress });
    expect((await from('2001:db8:1:2::1')).statusCode).toBe(401);
    expect((await from('2001:db8:1:2::ffff')).statusCode).toBe(401);
    expect((await from('2001:db8:1:2:aaaa::3')).statusCode).toBe(429);
    expect((await from('2001:db8:1:3::1')).statusCode).toBe(401);
  });

  it('honours X-Forwarded-For only from a trusted proxy', async () => {
    const { app } = await api({
      limits: { authFailuresPerMinute: 2 },
      trustProxy: ['127.0.0.1'],
    });
    const via = (remoteAddress: string, forwardedFor: string) =>
      app.inject({
        method: 'GET',
        url: '/v1/runs',
        headers: { ...auth('nope-nope'), 'x-forwarded-for': forwardedFor },
        remoteAddress,
      });
    // Through the trusted proxy each client address counts on its own.
    expect((await via('127.0.0.1', '203.0.113.1')).statusCode).toBe(401);
    expect((await via('127.0.0.1', '203.0.113.1')).statusCode).toBe(401);
    expect((await via('127.0.0.1', '203.0.113.1')).statusCode).toBe(429);
    expect((await via('127.0.0.1', '203.0.113.2')).statusCode).toBe(401);
    // An untrusted peer cannot pick its address by sending the header.
    expect((await via('198.51.100.7', '203.0.113.3')).statusCode).toBe(401);
    expect((await via('198.51.100.7', '203.0.113.4')).statusCode).toBe(401);
    expect((await via('198.51.100.7', '203.0.113.5')).statusCode).toBe(429);
  });
});
