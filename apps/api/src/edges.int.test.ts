import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runQueuedEvent } from '@runstream/events';
import { openSse } from '@runstream/stream/testing';

import {
  type StreamFixture,
  type TestApi,
  openFixture,
  rawHttp,
  startTestApi,
} from './testing/harness.js';

const ACME = 'acme-key-0001';
const auth = { authorization: `Bearer ${ACME}` };

let fx: StreamFixture;
let api: TestApi;

beforeAll(async () => {
  fx = await openFixture();
  api = await startTestApi(fx.testDb, {
    apiKeys: [{ tenant: 'acme', key: ACME }],
    // Shorter than the contract's 10 s and 30 s so that the slowloris tests stay quick.
    timeouts: { headersMs: 400, requestMs: 800 },
    // No outbox runs here: committed events are what pages and streams show at once.
    replay: 'committed',
  });
});
afterAll(async () => {
  await api.close();
  await fx.close();
});

async function counts(): Promise<{ runs: number; events: number; cancels: number }> {
  const { rows } = await fx.testDb.db.pool.query<{ runs: number; events: number; cancels: number }>(
    `SELECT (SELECT count(*)::int FROM runs) AS runs, (SELECT count(*)::int FROM run_events) AS events,
            (SELECT count(*)::int FROM runs WHERE cancel_requested_at IS NOT NULL) AS cancels`,
  );
  return rows[0]!;
}

/** The contract's error shape, and nothing of Fastify's own. */
function expectContractError(body: string, code: string): void {
  const parsed = JSON.parse(body) as unknown;
  expect(parsed).toEqual({ error: { code, message: expect.any(String) } });
  expect(body).not.toMatch(/FST_ERR|statusCode/);
}

describe('errors raised before routing keep the contract shape', () => {
  const longId = 'a'.repeat(10 * 1024);

  it.each([
    ['GET', 'get', ''],
    ['GET', 'events', '/events'],
    ['POST', 'cancel', '/cancel'],
  ] as const)(
    'row 29: a 10 KB run id (%s, %s) is the 404 of a malformed run id, never echoed',
    async (method, _route, suffix) => {
      const url = `/v1/runs/${longId}${suffix}`;
      for (const headers of [auth, {}]) {
        const res = await api.app.inject({ method, url, headers });
        expect(res.statusCode).toBe(404);
        expectContractError(res.body, 'RUN_NOT_FOUND');
        expect(res.body.length).toBeLessThan(200);
      }
    },
  );

  it.each(['/v1/runs/%zz', '/v1/runs/%c0%ae%c0%ae', '/v1/runs/%zz/events'])(
    'row 30: bad percent-encoding (%s) is the 404 of a malformed run id',
    async (url) => {
      const res = await api.app.inject({ method: 'GET', url, headers: auth });
      expect(res.statusCode).toBe(404);
      expectContractError(res.body, 'RUN_NOT_FOUND');
    },
  );

  it('row 30: bad percent-encoding outside the runs is a plain 404 NOT_FOUND', async () => {
    const res = await api.app.inject({ method: 'GET', url: '/%zz' });
    expect(res.statusCode).toBe(404);
    expectContractError(res.body, 'NOT_FOUND');
  });

  it('an unknown route echoes at most a short prefix of its path', async () => {
    const res = await api.app.inject({ method: 'GET', url: `/v2/${'b'.repeat(5000)}` });
    expect(res.statusCode).toBe(404);
    expectContractError(res.body, 'NOT_FOUND');
    expect(res.body.length).toBeLessThan(300);
  });

  it('row 12: a 20 KB header is 431 in the contract shape, and the connection closes', async () => {
    const res = await rawHttp(
      api.url,
      `GET /v1/runs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${'k'.repeat(20_000)}\r\n\r\n`,
    );
    expect(res.status).toBe(431);
    expect(res.head).toMatch(/content-type: application\/json/i);
    expectContractError(res.body, 'HEADERS_TOO_LARGE');
    expect(res.closedByServer).toBe(true);
  });

  it.each([
    ['a NUL byte in a header', 'GET /v1/runs HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n'],
    ['a bare CR in a header value', 'GET /v1/runs HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n'],
    ['a lower-case method', 'get /v1/runs HTTP/1.1\r\nHost: x\r\n\r\n'],
    [
      'Content-Length with Transfer-Encoding (smuggling)',
      'POST /v1/runs HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    ],
  ])('row 13: %s is 400 in the contract shape', async (_name, payload) => {
    const before = await counts();
    const res = await rawHttp(api.url, payload);
    expect(res.status).toBe(400);
    expectContractError(res.body, 'BAD_REQUEST');
    expect(res.closedByServer).toBe(true);
    expect(await counts()).toEqual(before);
  });
});

describe('cancel refuses what it does not know', () => {
  it('row 86: unknown fields in a cancel body are a 400 naming them, and nothing is written', async () => {
    const run = await fx.repos.runs.create({
      tenant: 'acme',
      graph: 'synthetic',
      input: {},
      firstEvent: runQueuedEvent('synthetic'),
    });
    const before = await counts();
    const res = await api.app.inject({
      method: 'POST',
      url: `/v1/runs/${run.run.id}/cancel`,
      headers: auth,
      payload: { force: true, reason: 'x' },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({
      error: { code: 'INVALID_REQUEST', details: { unknownFields: ['force', 'reason'] } },
    });
    expect(await counts()).toEqual(before);
    const empty = await api.app.inject({
      method: 'POST',
      url: `/v1/runs/${run.run.id}/cancel`,
      headers: auth,
      payload: {},
    });
    expect(empty.statusCode).toBe(202);
  });
});

describe('slowloris: half-sent requests do not hold sockets', () => {
  it('row 58: a request head that never completes is closed after the head timeout', async () => {
    const sockets = await Promise.all(
      Array.from({ length: 20 }, () =>
        rawHttp(api.url, 'GET /v1/runs HTTP/1.1\r\nHost: x\r\nX-Slow: ', { untilMs: 5000 }),
      ),
    );
    for (const res of sockets) {
      expect(res.closedByServer).toBe(true);
      if (res.status !== undefined) {
        expect(res.status).toBe(408);
        expectContractError(res.body, 'REQUEST_TIMEOUT');
      }
    }
  });

  it('row 58: a body that never completes is closed after the request timeout', async () => {
    const before = await counts();
    const res = await rawHttp(
      api.url,
      `POST /v1/runs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ACME}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"gr`,
      { untilMs: 5000 },
    );
    expect(res.closedByServer).toBe(true);
    expect(await counts()).toEqual(before);
  });

  it('a stream that outlives the request timeout is not cut by it', async () => {
    const run = await fx.repos.runs.create({
      tenant: 'acme',
      graph: 'synthetic',
      input: {},
      firstEvent: runQueuedEvent('synthetic'),
    });
    const res = await rawHttp(
      api.url,
      `GET /v1/runs/${run.run.id}/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ACME}\r\nAccept: text/event-stream\r\n\r\n`,
      { untilMs: 2000 },
    );
    expect(res.status).toBe(200);
    expect(res.closedByServer).toBe(false);
    expect(res.body).toContain('run.queued');
  });
});

describe('the timeouts default to the contract', () => {
  it('row 58: heads within 10 s, whole requests within 30 s', async () => {
    const plain = await startTestApi(fx.testDb, {}, api.bus);
    try {
      expect(plain.app.server.headersTimeout).toBe(10_000);
      expect(plain.app.server.requestTimeout).toBe(30_000);
    } finally {
      await plain.close();
    }
  });
});

describe('text PostgreSQL cannot store is refused at the edge', () => {
  const post = (payload: string) =>
    api.app.inject({
      method: 'POST',
      url: '/v1/runs',
      headers: { ...auth, 'content-type': 'application/json' },
      payload,
    });

  it.each([
    ['U+0000 in input', '{"graph":"demo","input":{"prompt":"a\\u0000b"}}', 'body.input.prompt'],
    [
      'a lone surrogate in input',
      '{"graph":"demo","input":{"prompt":"a\\ud800b"}}',
      'body.input.prompt',
    ],
    [
      'a lone low surrogate deep in input',
      '{"graph":"demo","input":{"x":[1,{"y":"\\udfff"}]}}',
      'body.input.x.1.y',
    ],
    ['U+0000 in an input key', '{"graph":"demo","input":{"a\\u0000":1}}', 'body.input'],
    [
      'U+0000 in the idempotency key',
      '{"graph":"demo","idempotencyKey":"k\\u0000x"}',
      'body.idempotencyKey',
    ],
    ['a lone surrogate in the graph', '{"graph":"demo\\ud800"}', 'body.graph'],
  ])('rows 51-52: %s is a 400 naming the field, never a 500', async (_name, payload, field) => {
    const before = await counts();
    const res = await post(payload);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: { code: 'INVALID_REQUEST', details: { field } } });
    expect(res.json<{ error: { message: string } }>().error.message).toContain(field);
    expect(await counts()).toEqual(before);
  });

  it.each(['?graph=%00', '?graph=demo%00', '?status=queued&graph=a%00'])(
    'row 52: U+0000 in a list filter (%s) is a 400 naming it',
    async (query) => {
      const res = await api.app.inject({ method: 'GET', url: `/v1/runs${query}`, headers: auth });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({
        error: { code: 'INVALID_REQUEST', details: { field: 'query.graph' } },
      });
    },
  );

  it('row 63: idempotency keys that differ only in lone surrogates never collide', async () => {
    const before = await counts();
    const first = await post('{"graph":"demo","idempotencyKey":"x-\\ud800"}');
    const second = await post('{"graph":"demo","idempotencyKey":"x-\\udfff"}');
    expect([first.statusCode, second.statusCode]).toEqual([400, 400]);
    expect(await counts()).toEqual(before);
    // Well-formed text, astral characters and U+FFFD itself included, is stored as sent.
    const fine = await post('{"graph":"demo","idempotencyKey":"x-\\ud83d\\ude00-\\ufffd"}');
    expect(fine.statusCode).toBe(201);
    const again = await post('{"graph":"demo","idempotencyKey":"x-\\ud83d\\ude00-\\ufffd"}');
    expect(again.statusCode).toBe(200);
  });
});

describe('run ids are matched without regard to case and answered in lower case', () => {
  it('A6: get, events, cancel and the stream of an upper-case id answer with the lower-case id', async () => {
    const { run } = await fx.repos.runs.create({
      tenant: 'acme',
      graph: 'synthetic',
      input: {},
      firstEvent: runQueuedEvent('synthetic'),
    });
    const upper = run.id.toUpperCase();
    const got = await api.app.inject({ method: 'GET', url: `/v1/runs/${upper}`, headers: auth });
    expect(got.json()).toMatchObject({ id: run.id });
    const page = await api.app.inject({
      method: 'GET',
      url: `/v1/runs/${upper}/events`,
      headers: auth,
    });
    expect(page.json()).toMatchObject({ events: [{ runId: run.id, seq: 1 }] });

    // Live delivery goes through the bus subscription: it must be the canonical id's.
    const client = openSse(`${api.url}/v1/runs/${upper}/events`, auth);
    await client.waitFor((events) => events.length === 1);
    await fx.repos.events.append(run.id, [{ type: 'run.started', data: { graph: 'synthetic' } }]);
    await api.bus.publish([{ source: 'outbox', runId: run.id, seq: 2 }]);
    await client.waitFor((events) => events.length === 2, 3000);
    expect(client.events.map((e) => e.runId)).toEqual([run.id, run.id]);
    client.close();

    const cancel = await api.app.inject({
      method: 'POST',
      url: `/v1/runs/${upper}/cancel`,
      headers: auth,
    });
    expect(cancel.statusCode).toBe(202);
    expect(cancel.json()).toMatchObject({ id: run.id });
  });
});

describe('the viewer page is hardened', () => {
  it('rows 74 and 76: CSP without inline script, nosniff, no framing, no referrer, and no public source map', async () => {
    for (const path of ['/', '/app.js']) {
      const res = await api.app.inject(path);
      expect(res.statusCode).toBe(200);
      const csp = String(res.headers['content-security-policy']);
      expect(csp).toMatch(/default-src 'self'/);
      expect(csp).toMatch(/script-src 'self'(;|$)/);
      expect(csp).toMatch(/frame-ancestors 'none'/);
      expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['x-frame-options']).toBe('DENY');
      expect(res.headers['referrer-policy']).toBe('no-referrer');
    }
    const page = await api.app.inject('/');
    // Every script is a file of the same origin: nothing inline for the CSP to allow.
    expect(page.body).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i);
    expect((await api.app.inject('/app.js')).body).not.toMatch(/sourceMappingURL/);
    expect((await api.app.inject('/app.js.map')).statusCode).toBe(404);
  });

  it('API answers carry nosniff too', async () => {
    const res = await api.app.inject({ method: 'GET', url: '/v1/runs', headers: auth });
    expect(res.headers['x-content-type-options']).toBe('nosniff');
  });
});
