import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createMemoryBus } from '@runstream/bus';
import { openSse } from '@runstream/stream/testing';

import { buildApp } from './app.js';
import {
  type StreamFixture,
  type TestApi,
  openFixture,
  startTestApi,
  testCatalog,
} from './testing/harness.js';

const ACME = 'acme-key-0001';
const GLOBEX = 'globex-key-0002';
const auth = (key: string) => ({ authorization: `Bearer ${key}` });

let fx: StreamFixture;
let api: TestApi;

beforeAll(async () => {
  fx = await openFixture();
  api = await startTestApi(fx.testDb, {
    apiKeys: [
      { tenant: 'acme', key: ACME },
      { tenant: 'globex', key: GLOBEX },
    ],
    // No outbox runs here: committed events are what the JSON pages show at once.
    replay: 'committed',
  });
});
afterAll(async () => {
  await api.close();
  await fx.close();
});

async function counts(): Promise<{ runs: number; events: number }> {
  const { rows } = await fx.testDb.db.pool.query<{ runs: number; events: number }>(
    'SELECT (SELECT count(*)::int FROM runs) AS runs, (SELECT count(*)::int FROM run_events) AS events',
  );
  return rows[0]!;
}

async function createRun(
  key = ACME,
  body: Record<string, unknown> = { graph: 'synthetic', input: { events: 3 } },
) {
  const res = await api.app.inject({
    method: 'POST',
    url: '/v1/runs',
    headers: auth(key),
    payload: body,
  });
  expect(res.statusCode).toBe(201);
  return res.json<{ id: string; status: string; lastSeq: number }>();
}

describe('runs over HTTP', () => {
  it('creates a run with its first event persisted, and reads it back', async () => {
    const run = await createRun();
    expect(run).toMatchObject({ status: 'queued', lastSeq: 1 });
    const got = await api.app.inject({
      method: 'GET',
      url: `/v1/runs/${run.id}`,
      headers: auth(ACME),
    });
    expect(got.statusCode).toBe(200);
    expect(got.json()).toMatchObject({
      id: run.id,
      graph: 'synthetic',
      input: { events: 3 },
      status: 'queued',
      startedAt: null,
      finishedAt: null,
      error: null,
    });
    const events = await api.app.inject({
      method: 'GET',
      url: `/v1/runs/${run.id}/events`,
      headers: auth(ACME),
    });
    expect(events.json()).toMatchObject({
      events: [{ runId: run.id, seq: 1, type: 'run.queued' }],
      nextSeq: 2,
      terminal: false,
    });
  });

  it('is idempotent by body key or header, per tenant', async () => {
    const first = await api.app.inject({
      method: 'POST',
      url: '/v1/runs',
      headers: auth(ACME),
      payload: { graph: 'demo', idempotencyKey: 'k1' },
    });
    expect(first.statusCode).toBe(201);
    const again = await api.app.inject({
      method: 'POST',
      url: '/v1/runs',
      headers: { ...auth(ACME), 'idempotency-key': 'k1' },
      payload: { graph: 'demo' },
    });
    expect(again.statusCode).toBe(200);
    expect(again.json<{ id: string }>().id).toBe(first.json<{ id: string }>().id);
    const same = await api.app.inject({
      method: 'POST',
      url: '/v1/runs',
      headers: { ...auth(ACME), 'idempotency-key': 'k1' },
      payload: { graph: 'demo', idempotencyKey: 'k1' },
    });
    expect(same.statusCode).toBe(200);
    const otherTenant = await api.app.inject({
      method: 'POST',
      url: '/v1/runs',
      headers: auth(GLOBEX),
      payload: { graph: 'demo', idempotencyKey: 'k1' },
    });
    expect(otherTenant.statusCode).toBe(201);
  });

  it('lists newest first with a cursor, filtered, scoped to the tenant', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++)
      ids.push((await createRun(GLOBEX, { graph: 'synthetic', input: { events: 1 } })).id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `/v1/runs?graph=synthetic&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const res = await api.app.inject({ method: 'GET', url: query, headers: auth(GLOBEX) });
      expect(res.statusCode).toBe(200);
      const page = res.json<{ runs: { id: string }[]; nextCursor: string | null }>();
      expect(page.runs.length).toBeLessThanOrEqual(2);
      seen.push(...page.runs.map((r) => r.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());
    const queued = await api.app.inject({
      method: 'GET',
      url: '/v1/runs?status=succeeded',
      headers: auth(GLOBEX),
    });
    expect(queued.json()).toEqual({ runs: [], nextCursor: null });
  });

  it('cancels: 202 while the run lives (twice), 409 RUN_TERMINAL once it ended', async () => {
    const run = await createRun();
    const cancel = () =>
      api.app.inject({ method: 'POST', url: `/v1/runs/${run.id}/cancel`, headers: auth(ACME) });
    expect((await cancel()).statusCode).toBe(202);
    const again = await api.app.inject({
      method: 'POST',
      url: `/v1/runs/${run.id}/cancel`,
      headers: { ...auth(ACME), 'content-type': 'application/json' },
      payload: '',
    });
    expect(again.statusCode).toBe(202);
    await fx.repos.events.append(run.id, [{ type: 'run.cancelled', data: {} }]);
    const ended = await cancel();
    expect(ended.statusCode).toBe(409);
    expect(ended.json()).toMatchObject({ error: { code: 'RUN_TERMINAL' } });
  });

  it('serves the run viewer at GET /', async () => {
    const page = await api.app.inject('/');
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).toMatch(/<html/i);
    expect((await api.app.inject('/app.js')).statusCode).toBe(200);
  });

  it('serves health, readiness, metrics and the OpenAPI document', async () => {
    expect((await api.app.inject('/healthz')).statusCode).toBe(200);
    const ready = await api.app.inject('/readyz');
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({ checks: { database: 'ok', bus: 'ok' } });
    const metrics = await api.app.inject('/metrics');
    expect(metrics.body).toContain('runstream_http_requests_total');
    expect(metrics.body).toContain('runstream_sse_streams_open');
    const doc = (await api.app.inject('/docs/openapi.json')).json<{
      openapi: string;
      paths: Record<string, unknown>;
    }>();
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/v1/runs',
        '/v1/runs/{runId}',
        '/v1/runs/{runId}/cancel',
        '/v1/runs/{runId}/events',
      ]),
    );
  });
});

describe('bad inputs get the contract status and code, and write nothing', () => {
  let acmeRun: string;
  beforeAll(async () => {
    acmeRun = (await createRun()).id;
  });

  const json = { 'content-type': 'application/json' };
  const cases: [
    string,
    () => {
      method: 'GET' | 'POST';
      url: string;
      headers?: Record<string, string>;
      payload?: string;
    },
    number,
    string,
  ][] = [
    [
      'fromSeq -1',
      () => ({ method: 'GET', url: `/v1/runs/${acmeRun}/events?fromSeq=-1`, headers: auth(ACME) }),
      400,
      'INVALID_START_POINT',
    ],
    [
      'fromSeq 1.5',
      () => ({ method: 'GET', url: `/v1/runs/${acmeRun}/events?fromSeq=1.5`, headers: auth(ACME) }),
      400,
      'INVALID_START_POINT',
    ],
    [
      'fromSeq abc',
      () => ({ method: 'GET', url: `/v1/runs/${acmeRun}/events?fromSeq=abc`, headers: auth(ACME) }),
      400,
      'INVALID_START_POINT',
    ],
    [
      'fromSeq 2^64',
      () => ({
        method: 'GET',
        url: `/v1/runs/${acmeRun}/events?fromSeq=18446744073709551616`,
        headers: auth(ACME),
      }),
      400,
      'INVALID_START_POINT',
    ],
    [
      'events limit 0',
      () => ({ method: 'GET', url: `/v1/runs/${acmeRun}/events?limit=0`, headers: auth(ACME) }),
      400,
      'INVALID_REQUEST',
    ],
    [
      'events limit 1001',
      () => ({ method: 'GET', url: `/v1/runs/${acmeRun}/events?limit=1001`, headers: auth(ACME) }),
      400,
      'INVALID_REQUEST',
    ],
    [
      'list limit 201',
      () => ({ method: 'GET', url: '/v1/runs?limit=201', headers: auth(ACME) }),
      400,
      'INVALID_REQUEST',
    ],
    [
      'list bad cursor',
      () => ({ method: 'GET', url: '/v1/runs?cursor=nope', headers: auth(ACME) }),
      400,
      'INVALID_CURSOR',
    ],
    [
      'unknown run',
      () => ({
        method: 'GET',
        url: '/v1/runs/0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b',
        headers: auth(ACME),
      }),
      404,
      'RUN_NOT_FOUND',
    ],
    [
      'malformed run id',
      () => ({ method: 'GET', url: '/v1/runs/not-a-uuid', headers: auth(ACME) }),
      404,
      'RUN_NOT_FOUND',
    ],
    [
      'unknown run events',
      () => ({
        method: 'GET',
        url: '/v1/runs/0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b/events',
        headers: auth(ACME),
      }),
      404,
      'RUN_NOT_FOUND',
    ],
    [
      'unknown run cancel',
      () => ({
        method: 'POST',
        url: '/v1/runs/0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b/cancel',
        headers: auth(ACME),
      }),
      404,
      'RUN_NOT_FOUND',
    ],
    [
      'malformed JSON',
      () => ({
        method: 'POST',
        url: '/v1/runs',
        headers: { ...auth(ACME), ...json },
        payload: '{"graph": "demo",',
      }),
      400,
      'INVALID_JSON',
    ],
    [
      '2 MiB body',
      () => ({
        method: 'POST',
        url: '/v1/runs',
        headers: { ...auth(ACME), ...json },
        payload: JSON.stringify({ graph: 'demo', input: { pad: 'x'.repeat(2 * 1024 * 1024) } }),
      }),
      413,
      'PAYLOAD_TOO_LARGE',
    ],
    [
      'wrong content type',
      () => ({
        method: 'POST',
        url: '/v1/runs',
        headers: { ...auth(ACME), 'content-type': 'text/plain' },
        payload: '{"graph":"demo"}',
      }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    ],
    [
      'no key',
      () => ({ method: 'POST', url: '/v1/runs', headers: json, payload: '{"graph":"demo"}' }),
      401,
      'UNAUTHORIZED',
    ],
    [
      'wrong key',
      () => ({
        method: 'POST',
        url: '/v1/runs',
        headers: { ...auth('acme-key-0002'), ...json },
        payload: '{"graph":"demo"}',
      }),
      401,
      'UNAUTHORIZED',
    ],
    [
      'wrong key, read',
      () => ({ method: 'GET', url: `/v1/runs/${acmeRun}`, headers: auth('nope') }),
      401,
      'UNAUTHORIZED',
    ],
    [
      "another tenant's run",
      () => ({ method: 'GET', url: `/v1/runs/${acmeRun}`, headers: auth(GLOBEX) }),
      404,
      'RUN_NOT_FOUND',
    ],
    [
      "another tenant's events",
      () => ({ method: 'GET', url: `/v1/runs/${acmeRun}/events`, headers: auth(GLOBEX) }),
      404,
      'RUN_NOT_FOUND',
    ],
    [
      "another tenant's cancel",
      () => ({ method: 'POST', url: `/v1/runs/${acmeRun}/cancel`, headers: auth(GLOBEX) }),
      404,
      'RUN_NOT_FOUND',
    ],
    [
      'unknown graph',
      () => ({
        method: 'POST',
        url: '/v1/runs',
        headers: { ...auth(ACME), ...json },
        payload: '{"graph":"nope"}',
      }),
      400,
      'UNKNOWN_GRAPH',
    ],
    [
      'input failing the graph schema',
      () => ({
        method: 'POST',
        url: '/v1/runs',
        headers: { ...auth(ACME), ...json },
        payload: '{"graph":"synthetic","input":{"events":0}}',
      }),
      400,
      'INVALID_INPUT',
    ],
    [
      'synthetic failAt past its events (a rule across fields: x-runstream-le, ADR 0021)',
      () => ({
        method: 'POST',
        url: '/v1/runs',
        headers: { ...auth(ACME), ...json },
        payload: '{"graph":"synthetic","input":{"events":3,"failAt":5}}',
      }),
      400,
      'INVALID_INPUT',
    ],
    [
      'graph missing',
      () => ({
        method: 'POST',
        url: '/v1/runs',
        headers: { ...auth(ACME), ...json },
        payload: '{}',
      }),
      400,
      'INVALID_REQUEST',
    ],
    [
      'input not an object',
      () => ({
        method: 'POST',
        url: '/v1/runs',
        headers: { ...auth(ACME), ...json },
        payload: '{"graph":"demo","input":[1]}',
      }),
      400,
      'INVALID_REQUEST',
    ],
    [
      'idempotency keys differ',
      () => ({
        method: 'POST',
        url: '/v1/runs',
        headers: { ...auth(ACME), ...json, 'idempotency-key': 'a' },
        payload: '{"graph":"demo","idempotencyKey":"b"}',
      }),
      400,
      'IDEMPOTENCY_KEY_CONFLICT',
    ],
  ];

  it.each(cases)('%s', async (_name, request, status, code) => {
    const before = await counts();
    const res = await api.app.inject(request());
    expect(res.statusCode).toBe(status);
    const body = res.json<{ error: { code: string; message: string } }>();
    expect(body.error.code).toBe(code);
    expect(body.error.message).toEqual(expect.any(String));
    expect(await counts()).toEqual(before);
  });

  it('names unknown fields', async () => {
    const before = await counts();
    const res = await api.app.inject({
      method: 'POST',
      url: '/v1/runs',
      headers: auth(ACME),
      payload: { graph: 'demo', inptu: {}, extra: 1 },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({
      error: { code: 'INVALID_REQUEST', details: { unknownFields: ['inptu', 'extra'] } },
    });
    expect(res.json<{ error: { message: string } }>().error.message).toContain('inptu');
    expect(await counts()).toEqual(before);
  });

  it.each([
    ['Last-Event-ID garbage', { 'last-event-id': 'garbage' }, '', 400, 'INVALID_START_POINT'],
    ['Last-Event-ID -1', { 'last-event-id': '-1' }, '', 400, 'INVALID_START_POINT'],
    ['fromSeq abc', {}, '?fromSeq=abc', 400, 'INVALID_START_POINT'],
    ['fromSeq 2^64', {}, '?fromSeq=18446744073709551616', 400, 'INVALID_START_POINT'],
    ["another tenant's run", { authorization: `Bearer ${GLOBEX}` }, '', 404, 'RUN_NOT_FOUND'],
    ['wrong key', { authorization: 'Bearer wrong-key-0000' }, '', 401, 'UNAUTHORIZED'],
  ] as const)('SSE with %s: %i before any frame', async (_name, headers, query, status, code) => {
    const client = openSse(`${api.url}/v1/runs/${acmeRun}/events${query}`, {
      ...auth(ACME),
      ...headers,
    });
    const response = await client.response;
    await client.closed;
    expect(response.status).toBe(status);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(client.frames).toEqual([]);
    expect(JSON.parse(client.body)).toMatchObject({ error: { code } });
  });

  it('hides internals of a 5xx', async () => {
    const app = await buildApp({
      db: fx.testDb.db,
      bus: api.bus,
      // A dependency failing with internals in its message: the answer must not carry them.
      graphs: {
        check: () => Promise.reject(new Error('secret: postgres://user:pw@db')),
        list: () => Promise.reject(new Error('not used')),
      },
      config: { apiKeys: [], rateLimit: { max: 0, windowMs: 1 } },
    });
    const res = await app.inject({ method: 'POST', url: '/v1/runs', payload: { graph: 'demo' } });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({ error: { code: 'INTERNAL', message: 'internal error' } });
    expect(res.body).not.toContain('secret');
    await app.close();
  });

  it('is not ready when the bus does not answer', async () => {
    const deadBus = createMemoryBus();
    await deadBus.close();
    const app = await buildApp({
      db: fx.testDb.db,
      bus: deadBus,
      graphs: testCatalog(fx.testDb),
      config: { apiKeys: [] },
    });
    const res = await app.inject('/readyz');
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ checks: { database: 'ok', bus: 'down' } });
    await app.close();
  });

  it('limits the rate per key', async () => {
    const limited = await startTestApi(
      fx.testDb,
      {
        apiKeys: [
          { tenant: 'acme', key: ACME },
          { tenant: 'globex', key: GLOBEX },
        ],
        rateLimit: { max: 3, windowMs: 60_000 },
      },
      api.bus,
    );
    try {
      const get = (key: string) =>
        limited.app.inject({ method: 'GET', url: '/v1/runs', headers: auth(key) });
      for (let i = 0; i < 3; i++) expect((await get(ACME)).statusCode).toBe(200);
      const refused = await get(ACME);
      expect(refused.statusCode).toBe(429);
      expect(refused.json()).toMatchObject({ error: { code: 'RATE_LIMITED' } });
      expect((await get(GLOBEX)).statusCode).toBe(200);
    } finally {
      await limited.close();
    }
  });
});
