import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import { type Bus, createBus } from '@runstream/bus';
import { createRunstreamClient } from '@runstream/client';
import { type RunEventEnvelope, runQueuedEvent } from '@runstream/events';

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

async function collect(iterable: AsyncIterable<RunEventEnvelope>): Promise<RunEventEnvelope[]> {
  const events: RunEventEnvelope[] = [];
  for await (const event of iterable) events.push(event);
  return events;
}

describe('the SDK against the api', () => {
  it('lists the registered graphs with their input schema, and names the field at fault of an input that does not fit', async () => {
    const { url } = await api();
    const client = createRunstreamClient({ baseUrl: url });
    const graphs = await client.graphs();
    expect(graphs.map((g) => g.name)).toEqual(['demo', 'synthetic']);
    expect(graphs[1]!.inputSchema).toMatchObject({ required: ['events'] });
    await expect(client.create({ graph: 'synthetic', input: { events: 0 } })).rejects.toMatchObject(
      {
        code: 'INVALID_INPUT',
        status: 400,
        details: [{ path: ['input', 'events'] }],
      },
    );
  });

  it('A8: resuming past the end of an ended run stops at once on the 204, with one request', async () => {
    const { url } = await api();
    const run = await seedRun();
    await appendTicks(run.id, 5);
    const { fetchImpl, calls } = routedFetch(() => url);
    const client = createRunstreamClient({
      baseUrl: url,
      fetch: fetchImpl,
      reconnect: { initialDelayMs: 1, maxAttempts: 3 },
    });
    expect(await collect(client.events(run.id, { fromSeq: 8 }))).toEqual([]);
    expect(calls).toHaveLength(1);
  });

  it('B2: a planned close (api shutdown) makes the SDK reconnect at once and lose nothing', async () => {
    let current = await api();
    fx.publisher(bus);
    const run = await seedRun();
    const { fetchImpl } = routedFetch(() => current.url);
    const reconnects: { lastSeq: number; delayMs: number }[] = [];
    const client = createRunstreamClient({
      baseUrl: current.url,
      fetch: fetchImpl,
      // A reconnect after a planned close must not wait for the backoff.
      reconnect: { initialDelayMs: 10_000, maxAttempts: 3 },
    });
    const received: RunEventEnvelope[] = [];
    const reading = (async () => {
      for await (const event of client.events(run.id, {
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
    fx.publisher(bus);
    const run = await seedRun();
    const client = createRunstreamClient({ baseUrl: url, reconnect: { maxAttempts: 1 } });
    const reading = collect(client.events(run.id.toUpperCase()));
    await appendTicks(run.id, 10);
    expect((await reading).map((e) => e.seq)).toEqual(range(1, 12));
  });
});
