import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import { type Bus, createBus } from '@runstream/bus';
import { createRunstreamClient } from '@runstream/client';
import { type ReceivedRunEvent, runQueuedEvent } from '@runstream/events';

import {
  type StreamFixture,
  type TestApi,
  openFixture,
  range,
  startTestApi,
} from './testing/harness.js';

// The SDK (@runstream/client) against this api over real HTTP: what the contract promises a
// client, seen from the client's side.

let fx: StreamFixture;
let bus: Bus;
const apis: TestApi[] = [];

beforeAll(async () => {
  fx = await openFixture();
  bus = await createBus({ kind: 'postgres' }, { databaseUrl: fx.testDb.url, name: 'client-test' });
});
afterEach(async () => {
  await fx.stopOutboxes();
  for (const api of apis.splice(0)) await api.close();
});
afterAll(async () => {
  await bus.close();
  await fx.close();
});

async function api(): Promise<TestApi> {
  const started = await startTestApi(fx.testDb, { heartbeatMs: 200 }, bus);
  apis.push(started);
  return started;
}

/** A run whose events all pass the SDK's catalogue validation. */
async function seedRun() {
  const { run } = await fx.repos.runs.create({
    tenant: 'default',
    graph: 'synthetic',
    input: {},
    firstEvent: runQueuedEvent('synthetic'),
  });
  return run;
}

/** `n` synthetic.tick events after the last one, then (unless told not to) run.completed. */
async function appendTicks(runId: string, n: number, options: { terminal?: boolean } = {}) {
  const run = await fx.repos.runs.getById(runId);
  const first = run.nextSeq;
  await fx.repos.events.append(
    runId,
    Array.from({ length: n }, (_, i) => ({ type: 'synthetic.tick', data: { index: first + i } })),
  );
  if (options.terminal !== false)
    await fx.repos.events.append(runId, [{ type: 'run.completed', data: { output: null } }]);
}

/** A fetch that counts the requests and sends each to whichever api is current. */
function routedFetch(current: () => string) {
  const calls: string[] = [];
  const fetchImpl: typeof globalThis.fetch = (input, init) => {
    const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
    const target = new URL(url.pathname + url.search, current());
    calls.push(url.pathname + url.search);
    return globalThis.fetch(target, init);
  };
  return { fetchImpl, calls };
}

async function collect(iterable: AsyncIterable<ReceivedRunEvent>): Promise<ReceivedRunEvent[]> {
  const events: ReceivedRunEvent[] = [];
  for await (const event of iterable) events.push(event);
  return events;
}

describe('the SDK against the api', () => {
  it('lists the registered graphs with their input schema, and names the field at fault of an input that does not fit', async () => {
    const { url } = await api();
    const client = createRunstreamClient({ baseUrl: url });
    const graphs = await client.graphs.list();
    expect(graphs.map((g) => g.name)).toEqual(['demo', 'synthetic']);
    expect(graphs[1]!.inputSchema).toMatchObject({ required: ['events'] });
    await expect(
      client.runs.create({ graph: 'synthetic', input: { events: 0 } }),
    ).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      status: 400,
      details: [{ path: ['input', 'events'] }],
    });
  });

  it('A8: resuming past the end of an ended run stops at once on the 204, with one request', async () => {
    const { url } = await api();
    const run = await seedRun();
    await appendTicks(run.id, 5);
    const { fetchImpl, calls } = routedFetch(() => url);
    const client = createRunstreamClient({
      baseUrl: url,
      fetch: fetchImpl,
      retry: { initialDelayMs: 1 },
      reconnect: { maxAttempts: 3 },
    });
    expect(await collect(client.runs.events(run.id, { fromSeq: 8 }))).toEqual([]);
    expect(calls).toHaveLength(1);
  });

  it('B2: a planned close (api shutdown) makes the SDK reconnect at once and lose nothing', async () => {
    let current = await api();
    fx.outbox(bus);
    const run = await seedRun();
    const { fetchImpl } = routedFetch(() => current.url);
    const reconnects: { lastSeq: number; delayMs: number }[] = [];
    const client = createRunstreamClient({
      baseUrl: current.url,
      fetch: fetchImpl,
      // A reconnect after a planned close must not wait for the backoff.
      retry: { initialDelayMs: 10_000 },
      reconnect: { maxAttempts: 3 },
    });
    const received: ReceivedRunEvent[] = [];
    const reading = (async () => {
      for await (const event of client.runs.events(run.id, {
        onReconnect: ({ lastSeq, delayMs }) => reconnects.push({ lastSeq, delayMs }),
      })) {
        received.push(event);
      }
    })();
    await appendTicks(run.id, 20, { terminal: false });
    await vi.waitUntil(() => received.length === 21, { timeout: 10_000, interval: 10 });
    const first = current;
    current = await api();
    apis.splice(apis.indexOf(first), 1);
    await first.close();
    await appendTicks(run.id, 20);
    await reading;
    expect(received.map((e) => e.seq)).toEqual(range(1, 42));
    expect(reconnects).toEqual([{ lastSeq: 21, delayMs: 0 }]);
  });

  it('A6: a stream asked for with an upper-case run id delivers the run live', async () => {
    const { url } = await api();
    fx.outbox(bus);
    const run = await seedRun();
    const client = createRunstreamClient({ baseUrl: url, reconnect: { maxAttempts: 1 } });
    const reading = collect(client.runs.events(run.id.toUpperCase()));
    await appendTicks(run.id, 10);
    expect((await reading).map((e) => e.seq)).toEqual(range(1, 12));
  });
});

describe('runs.stream and runs.wait against the api', () => {
  it('stream() creates a run through the api and delivers it from run.queued to its end', async () => {
    const { url } = await api();
    fx.outbox(bus);
    const client = createRunstreamClient({ baseUrl: url });
    const received: ReceivedRunEvent[] = [];
    const reading = (async () => {
      for await (const event of client.runs.stream('synthetic', { events: 3 })) {
        received.push(event);
        // The test stands in for the worker: it runs the graph once the run exists.
        if (event.seq === 1) await appendTicks(event.runId, 3);
      }
    })();
    await reading;
    expect(received.map((e) => [e.seq, e.type])).toEqual([
      [1, 'run.queued'],
      [2, 'synthetic.tick'],
      [3, 'synthetic.tick'],
      [4, 'synthetic.tick'],
      [5, 'run.completed'],
    ]);
    const run = await client.runs.get(received[0]!.runId);
    expect(run).toMatchObject({ graph: 'synthetic', input: { events: 3 }, status: 'succeeded' });
  });

  it('stream() refuses a graph no worker serves with the api code, and creates nothing', async () => {
    const { url } = await api();
    const client = createRunstreamClient({ baseUrl: url });
    const before = (await client.runs.list({ limit: 200 })).runs.length;
    const reading = (async () => {
      for await (const _ of client.runs.stream('no-such-graph')) {
        // nothing comes
      }
    })();
    await expect(reading).rejects.toMatchObject({ code: 'UNKNOWN_GRAPH', status: 400 });
    expect((await client.runs.list({ limit: 200 })).runs).toHaveLength(before);
  });

  it('wait() resolves with the output, the error or the cancel of the run, as it ended', async () => {
    const { url } = await api();
    fx.outbox(bus);
    const client = createRunstreamClient({ baseUrl: url });

    const succeeding = await seedRun();
    const succeeded = client.runs.wait(succeeding.id);
    await appendTicks(succeeding.id, 2, { terminal: false });
    await fx.repos.events.append(succeeding.id, [
      { type: 'run.completed', data: { output: { answer: 42 } } },
    ]);
    expect(await succeeded).toEqual({
      status: 'succeeded',
      output: { answer: 42 },
      run: expect.objectContaining({
        id: succeeding.id,
        status: 'succeeded',
        lastSeq: 4,
      }) as unknown,
    });

    const failing = await seedRun();
    const failed = client.runs.wait(failing.id);
    await fx.repos.events.append(failing.id, [
      { type: 'run.failed', data: { error: { code: 'NODE_FAILED', message: 'boom' }, node: 'n1' } },
    ]);
    expect(await failed).toMatchObject({
      status: 'failed',
      error: { code: 'NODE_FAILED', message: 'boom' },
      node: 'n1',
      run: { status: 'failed', error: { code: 'NODE_FAILED' } },
    });

    const cancelling = await seedRun();
    const cancelled = client.runs.wait(cancelling.id);
    await client.runs.cancel(cancelling.id);
    await fx.repos.events.append(cancelling.id, [
      { type: 'run.cancelled', data: { reason: 'cancel requested' } },
    ]);
    expect(await cancelled).toMatchObject({
      status: 'cancelled',
      reason: 'cancel requested',
      run: { status: 'cancelled' },
    });
    // A run that has already ended is answered from its last event, at once.
    expect(await client.runs.wait(failing.id)).toMatchObject({ status: 'failed' });
  });

  it('wait() rejects with RUN_NOT_FOUND for a run that does not exist', async () => {
    const { url } = await api();
    const client = createRunstreamClient({ baseUrl: url });
    await expect(client.runs.wait('0190f0f0-0000-7000-8000-00000000dead')).rejects.toMatchObject({
      code: 'RUN_NOT_FOUND',
      status: 404,
    });
  });
});

describe('retries against the api', () => {
  it('a create whose answer is lost is retried under the same key: one run, reported as created', async () => {
    const { url } = await api();
    let lost = 0;
    const client = createRunstreamClient({
      baseUrl: url,
      retry: { initialDelayMs: 1 },
      // The api answers the first create; the answer never reaches the caller.
      fetch: async (input, init) => {
        const response = await globalThis.fetch(input, init);
        if (init?.method === 'POST' && lost++ === 0) throw new TypeError('fetch failed');
        return response;
      },
    });
    const { run, created } = await client.runs.create({ graph: 'synthetic', input: { events: 1 } });
    expect(created).toBe(true);
    expect(lost).toBe(2);
    const { runs } = await client.runs.list({ graph: 'synthetic', limit: 200 });
    expect(runs.filter((r) => r.input.events === 1).map((r) => r.id)).toEqual([run.id]);
  });

  it("a 429 of the api's rate limit is retried after its Retry-After, not before", async () => {
    const started = await startTestApi(fx.testDb, { rateLimit: { max: 1, windowMs: 1000 } }, bus);
    apis.push(started);
    const run = await seedRun();
    const attempts: { at: number; status: number; retryAfter: string | null }[] = [];
    const client = createRunstreamClient({
      baseUrl: started.url,
      retry: { initialDelayMs: 1, maxDelayMs: 1 },
      fetch: async (input, init) => {
        const response = await globalThis.fetch(input, init);
        attempts.push({
          at: performance.now(),
          status: response.status,
          retryAfter: response.headers.get('retry-after'),
        });
        return response;
      },
    });
    await client.runs.get(run.id);
    await expect(client.runs.get(run.id)).resolves.toMatchObject({ id: run.id });
    const refusal = attempts.findIndex((a) => a.status === 429);
    expect(refusal).toBe(1);
    const { at, retryAfter } = attempts[refusal]!;
    expect(Number(retryAfter)).toBeGreaterThan(0);
    // The next attempt waited the seconds the api asked for (the backoff alone is at most 1 ms).
    expect(attempts[refusal + 1]!.at - at).toBeGreaterThanOrEqual(Number(retryAfter) * 1000 - 5);
    expect(attempts.at(-1)!.status).toBe(200);
  });
});
