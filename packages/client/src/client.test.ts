import { describe, expect, it } from 'vitest';

import { createRunstreamClient } from './client.js';
import { RunstreamError, errorFromResponse } from './errors.js';

const run = {
  id: '0190f0f0-0000-7000-8000-000000000001',
  graph: 'demo',
  input: {},
  status: 'queued',
  lastSeq: 1,
  createdAt: '2026-12-01T10:00:00.000Z',
  startedAt: null,
  finishedAt: null,
  error: null,
};

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });

const apiError = (status: number, code: string, headers: Record<string, string> = {}) =>
  json(status, { error: { code, message: code.toLowerCase() } }, headers);

/** A fetch that answers from a script and records what it was asked. */
function scripted(...answers: (() => Response | Promise<Response>)[]) {
  const requests: { url: string; body: unknown }[] = [];
  const fetchImpl: typeof globalThis.fetch = async (input, init) => {
    requests.push({
      url: input instanceof Request ? input.url : input.toString(),
      body: typeof init?.body === 'string' ? JSON.parse(init.body) : undefined,
    });
    const next = answers.shift();
    if (!next) throw new Error('no more answers scripted');
    return next();
  };
  return { fetchImpl, requests };
}

const client = (fetchImpl: typeof globalThis.fetch, maxRetries = 2) =>
  createRunstreamClient({
    baseUrl: 'http://api.test',
    fetch: fetchImpl,
    retry: { maxRetries, initialDelayMs: 1, maxDelayMs: 2 },
  });

describe('requests', () => {
  it('retry what a later attempt may not meet (no answer, 429, 503), honouring Retry-After', async () => {
    const { fetchImpl, requests } = scripted(
      () => Promise.reject(new TypeError('fetch failed')),
      () => apiError(503, 'UNAVAILABLE', { 'retry-after': '0' }),
      () => json(200, run),
    );
    await expect(client(fetchImpl).runs.get(run.id)).resolves.toMatchObject({ id: run.id });
    expect(requests).toHaveLength(3);
  });

  it('give up after maxRetries, with the last error', async () => {
    const { fetchImpl, requests } = scripted(
      () => apiError(429, 'RATE_LIMITED'),
      () => apiError(429, 'RATE_LIMITED'),
      () => apiError(429, 'RATE_LIMITED'),
    );
    await expect(client(fetchImpl).runs.get(run.id)).rejects.toMatchObject({
      code: 'RATE_LIMITED',
      status: 429,
    });
    expect(requests).toHaveLength(3);
  });

  it.each([
    [400, 'INVALID_REQUEST'],
    [404, 'RUN_NOT_FOUND'],
    [409, 'RUN_TERMINAL'],
  ])('never retry a %d %s', async (status, code) => {
    const { fetchImpl, requests } = scripted(() => apiError(status, code));
    await expect(client(fetchImpl).runs.cancel(run.id)).rejects.toMatchObject({ code, status });
    expect(requests).toHaveLength(1);
  });

  it('fail at once when Retry-After asks for longer than maxRetryAfterMs', async () => {
    const { fetchImpl, requests } = scripted(() =>
      apiError(429, 'RATE_LIMITED', { 'retry-after': '3600' }),
    );
    const error = await client(fetchImpl)
      .runs.list()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RunstreamError);
    expect(error).toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: 3_600_000 });
    expect(requests).toHaveLength(1);
  });

  it('a create without a key gets one, the same on its retry, so a lost answer makes no second run', async () => {
    const { fetchImpl, requests } = scripted(
      () => Promise.reject(new TypeError('fetch failed')),
      // The first attempt had created the run: the key finds it (200, not 201).
      () => json(200, run),
    );
    const result = await client(fetchImpl).runs.create({ graph: 'demo' });
    expect(result).toEqual({
      run: expect.objectContaining({ id: run.id }) as unknown,
      created: true,
    });
    const [first, second] = requests.map((r) => r.body as { idempotencyKey?: string });
    expect(first!.idempotencyKey).toMatch(/^[0-9a-f-]{36}$/);
    expect(second!.idempotencyKey).toBe(first!.idempotencyKey);
  });

  it("a create with the caller's key is answered as the api says (200: an earlier create)", async () => {
    const { fetchImpl, requests } = scripted(() => json(200, run));
    const result = await client(fetchImpl).runs.create({ graph: 'demo', idempotencyKey: 'k1' });
    expect(result.created).toBe(false);
    expect(requests[0]!.body).toEqual({ graph: 'demo', idempotencyKey: 'k1' });
  });

  it('with retries off, a create sends no key of its own and is tried once', async () => {
    const { fetchImpl, requests } = scripted(() => apiError(503, 'UNAVAILABLE'));
    await expect(client(fetchImpl, 0).runs.create({ graph: 'demo' })).rejects.toMatchObject({
      code: 'UNAVAILABLE',
    });
    expect(requests).toEqual([{ url: 'http://api.test/v1/runs', body: { graph: 'demo' } }]);
  });
});

describe('errors', () => {
  it("keep the api's code, status, details and Retry-After", async () => {
    const error = await errorFromResponse(
      json(
        429,
        { error: { code: 'RATE_LIMITED', message: 'slow down', details: { retryAfter: 2 } } },
        { 'retry-after': '2' },
      ),
    );
    expect(error).toMatchObject({
      code: 'RATE_LIMITED',
      status: 429,
      message: 'slow down',
      details: { retryAfter: 2 },
      retryAfterMs: 2000,
      retryable: true,
    });
  });

  it('report a code this client does not know as UNKNOWN_ERROR_CODE, keeping what the api sent', async () => {
    const error = await errorFromResponse(
      json(422, { error: { code: 'GRAPH_DISABLED', message: 'disabled', details: { x: 1 } } }),
    );
    expect(error).toMatchObject({
      code: 'UNKNOWN_ERROR_CODE',
      status: 422,
      message: 'GRAPH_DISABLED: disabled',
      details: { code: 'GRAPH_DISABLED', details: { x: 1 } },
    });
  });

  it('report an answer that is not the error shape as INVALID_RESPONSE', async () => {
    const error = await errorFromResponse(
      new Response('<html>bad gateway</html>', { status: 502 }),
    );
    expect(error).toMatchObject({ code: 'INVALID_RESPONSE', status: 502, retryable: true });
  });

  it('are recognised by instanceof whichever copy of the client made them', () => {
    // Another copy of the class (the CommonJS build beside the ES module, another version) is
    // another constructor; the brand it sets is the same.
    const otherBrand: unique symbol = Symbol.for('@runstream/client:RunstreamError');
    class OtherCopy extends Error {
      readonly [otherBrand] = true;
    }
    expect(new OtherCopy('x')).toBeInstanceOf(RunstreamError);
    expect(new Error('x')).not.toBeInstanceOf(RunstreamError);
    expect({ code: 'RUN_NOT_FOUND' }).not.toBeInstanceOf(RunstreamError);
    expect(new RunstreamError('NETWORK_ERROR', 'x')).toBeInstanceOf(RunstreamError);
  });
});
