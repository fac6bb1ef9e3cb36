import type { Socket } from 'node:net';
import { connect } from 'node:net';

import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import { type Bus, createBus } from '@runstream/bus';
import { type MessageFate, cycle, when, withMessageFaults } from '@runstream/bus/testing';
import { type RunEventEnvelope } from '@runstream/events';
import { loadBusSigningKey } from '@runstream/persistence';
import { seedRun } from '@runstream/persistence/testing';
import { openSse } from '@runstream/stream/testing';

import {
  type StreamFixture,
  type TestApi,
  appendEvents,
  openFixture,
  range,
  rawHttp,
  startTestApi,
} from './testing/harness.js';

let fx: StreamFixture;
let bus: Bus;
const apis: TestApi[] = [];

beforeAll(async () => {
  fx = await openFixture();
  bus = await createBus(
    { kind: 'postgres' },
    {
      databaseUrl: fx.testDb.url,
      name: 'stream-test',
      signingKey: await loadBusSigningKey(fx.testDb.db.pool),
    },
  );
});
afterEach(async () => {
  await fx.stopOutboxes();
  for (const api of apis.splice(0)) await api.close();
});
afterAll(async () => {
  await bus.close();
  await fx.close();
});

async function api(
  config: Parameters<typeof startTestApi>[1] = {},
  withBus: Bus = bus,
): Promise<TestApi> {
  const started = await startTestApi(fx.testDb, { heartbeatMs: 200, ...config }, withBus);
  apis.push(started);
  return started;
}

const seqs = (events: readonly RunEventEnvelope[]) => events.map((e) => e.seq);
const ended = (events: readonly RunEventEnvelope[]) => events.at(-1)?.type === 'run.completed';

describe('SSE stream', () => {
  it('waits on a run that has not started, follows it live with the contract headers, and ends after the terminal event', async () => {
    const { url } = await api();
    fx.outbox(bus);
    const run = await seedRun(fx.repos);
    const client = openSse(`${url}/v1/runs/${run.id}/events`);
    const response = await client.response;
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('text/event-stream');
    expect(response.headers['cache-control']).toBe('no-cache, no-transform');
    expect(response.headers['x-accel-buffering']).toBe('no');
    await client.waitFor((events) => events.length === 1);
    await vi.waitUntil(() => client.comments >= 1, { timeout: 5000, interval: 20 });
    await appendEvents(fx.repos, run.id, 300, { batch: 7 });
    await client.closed;
    expect(seqs(client.events)).toEqual(range(1, 302));
    expect(
      client.frames.every((f, i) => f.id === String(i + 1) && f.event === client.events[i]!.type),
    ).toBe(true);
  });

  it('closes the replay-to-live race: events appended between the subscribe and the replay arrive once', async () => {
    const run = await seedRun(fx.repos);
    // A bus that, once the stream's subscription is active, commits and publishes events before
    // the stream's replay query can run: they reach the stream twice, and must be sent once.
    const racing: Bus = {
      ...bus,
      publish: (messages) => bus.publish(messages),
      ping: () => bus.ping(),
      close: async () => undefined,
      async subscribe(runId, handlers) {
        const subscription = await bus.subscribe(runId, handlers);
        await appendEvents(fx.repos, runId, 20, { batch: 5, terminal: false });
        const rows = await fx.repos.events.readPage(runId, { fromSeq: 2 });
        await bus.publish(rows.map((row) => ({ source: 'outbox', runId, seq: row.seq })));
        await vi
          .waitUntil(
            async () => (await fx.repos.events.readPage(runId, { fromSeq: 21 })).length > 0,
            { timeout: 5000, interval: 20 },
          )
          .catch(() => undefined);
        return subscription;
      },
    };
    const { url } = await api({}, racing);
    const client = openSse(`${url}/v1/runs/${run.id}/events`);
    await client.waitFor((events) => events.length >= 21);
    await appendEvents(fx.repos, run.id, 30, { batch: 3 });
    fx.outbox(bus);
    await client.closed;
    expect(seqs(client.events)).toEqual(range(1, 52));
  });

  it('gives a perfect stream when the bus drops, repeats and truncates messages, the final one included', async () => {
    const { url } = await api();
    const fates: MessageFate[] = [
      'deliver',
      'drop',
      'repeat',
      'deliver',
      'pointer',
      'drop',
      'repeat',
      'deliver',
    ];
    const faulty = withMessageFaults(
      bus,
      when((m) => m.event?.type === 'run.completed', 'drop', cycle(fates)),
    );
    fx.outbox(faulty);
    const run = await seedRun(fx.repos);
    const clients = Array.from({ length: 5 }, () => openSse(`${url}/v1/runs/${run.id}/events`));
    await Promise.all(clients.map((c) => c.waitFor((events) => events.length >= 1)));
    await appendEvents(fx.repos, run.id, 400, { batch: 3 });
    for (const client of clients) {
      await client.closed;
      expect(seqs(client.events)).toEqual(range(1, 402));
    }
    // Every kind of fault happened: gaps, duplicates and pointers were healed for each client.
    expect(faulty.counts.drop).toBeGreaterThan(50);
    expect(faulty.counts.repeat).toBeGreaterThan(50);
    expect(faulty.counts.pointer).toBeGreaterThan(25);
  });

  it('replays an ended run from its start point and ends; Last-Event-ID beats fromSeq', async () => {
    const { url } = await api();
    const run = await seedRun(fx.repos);
    await appendEvents(fx.repos, run.id, 1500, { batch: 500 });
    await fx.outbox(bus).drained();
    const cases: [Record<string, string>, string, number[]][] = [
      [{}, '', range(1, 1502)],
      [{}, '?fromSeq=0', range(1, 1502)],
      [{}, '?fromSeq=1000', range(1000, 1502)],
      [{ 'last-event-id': '1000' }, '', range(1001, 1502)],
      [{ 'last-event-id': '10' }, '?fromSeq=1000', range(11, 1502)],
      [{}, '?fromSeq=1502', [1502]],
    ];
    for (const [headers, query, expected] of cases) {
      const client = openSse(`${url}/v1/runs/${run.id}/events${query}`, headers);
      await client.closed;
      expect(seqs(client.events)).toEqual(expected);
      expect(client.frames.at(-1)?.event).toBe('run.completed');
    }
  });

  it.each([
    ['Last-Event-ID at the terminal seq', { 'last-event-id': '12' }, ''],
    ['fromSeq one past it', {}, '?fromSeq=13'],
    ['fromSeq far past it', {}, '?fromSeq=9999'],
    ['Last-Event-ID at the largest seq (A9)', { 'last-event-id': '2147483647' }, ''],
  ])(
    'A8: a start point past an ended run (%s) answers 204 No Content, before any frame',
    async (_name, headers, query) => {
      const { url } = await api();
      const run = await seedRun(fx.repos);
      await appendEvents(fx.repos, run.id, 10);
      const client = openSse(`${url}/v1/runs/${run.id}/events${query}`, headers);
      const response = await client.response;
      await client.closed;
      expect(response.status).toBe(204);
      expect(client.frames).toEqual([]);
      expect(client.body).toBe('');
    },
  );

  it('B2: a stream whose start point turns out past the end of the run asks the client to reconnect, which then gets 204', async () => {
    const { url } = await api();
    fx.outbox(bus);
    const run = await seedRun(fx.repos);
    const client = openSse(`${url}/v1/runs/${run.id}/events`, { 'last-event-id': '500' });
    expect((await client.response).status).toBe(200);
    await appendEvents(fx.repos, run.id, 10);
    await client.closed;
    expect(client.events).toEqual([]);
    expect(client.frames).toEqual([
      { id: undefined, event: 'reconnect', data: JSON.stringify({ lastSeq: 500 }) },
    ]);
    const again = openSse(`${url}/v1/runs/${run.id}/events`, { 'last-event-id': '500' });
    expect((await again.response).status).toBe(204);
  });

  it('1,000 concurrent clients on one run each receive every event', async () => {
    const { url, app } = await api({ heartbeatMs: 1000 });
    fx.outbox(bus);
    const run = await seedRun(fx.repos);
    const clients = Array.from({ length: 1000 }, () => openSse(`${url}/v1/runs/${run.id}/events`));
    await Promise.all(clients.map((c) => c.waitFor((events) => events.length >= 1, 60_000)));
    await appendEvents(fx.repos, run.id, 200, { batch: 4 });
    await Promise.all(clients.map((c) => c.closed));
    for (const client of clients) expect(seqs(client.events)).toEqual(range(1, 202));
    const metrics = await app.inject('/metrics');
    expect(metrics.body).toMatch(/runstream_sse_stream_ends_total\{reason="terminal"\} 1000/);
  });

  it('cuts off a client that never reads, holding bounded memory, while a reading client gets everything', async () => {
    const { url, app } = await api({ stallTimeoutMs: 500, maxBufferedEvents: 50 });
    fx.outbox(bus);
    const run = await seedRun(fx.repos);
    const serverSockets: { socket: Socket; remotePort: number | undefined }[] = [];
    app.server.on('connection', (socket: Socket) =>
      serverSockets.push({ socket, remotePort: socket.remotePort }),
    );
    const { port } = new URL(url);
    const stalled = connect(Number(port), '127.0.0.1');
    stalled.pause();
    stalled.write(
      `GET /v1/runs/${run.id}/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n`,
    );
    const reader = openSse(`${url}/v1/runs/${run.id}/events`);
    await reader.waitFor((events) => events.length >= 1);
    await vi.waitUntil(() => serverSockets.length === 2, { timeout: 5000, interval: 20 });
    const payloadBytes = 64 * 1024;
    const events = 600;
    await appendEvents(fx.repos, run.id, events, { batch: 10, payloadBytes });
    await reader.closed;
    expect(seqs(reader.events)).toEqual(range(1, events + 2));
    await vi.waitUntil(
      async () => /reason="stalled"\} 1/.test((await app.inject('/metrics')).body),
      { timeout: 20_000, interval: 20 },
    );
    const stalledServerSide = serverSockets.find((s) => s.remotePort === stalled.localPort)!.socket;
    expect(stalledServerSide.destroyed).toBe(true);
    // Of the ~39 MB of frames, the server took in only what the socket buffers held before it
    // stalled: it never formatted or queued the rest. Loopback kernel buffers alone can hold
    // several MB (6.5 MB seen here), hence a bound of half the run rather than a tight one.
    expect(stalledServerSide.bytesWritten).toBeLessThan((events * payloadBytes) / 2);
    expect((await app.inject('/metrics')).body).toMatch(/runstream_sse_streams_open 0/);
    stalled.destroy();
  });

  it('B2: ends open streams with a reconnect frame when the server closes, and a client resumes elsewhere without loss', async () => {
    const first = await api();
    fx.outbox(bus);
    const run = await seedRun(fx.repos);
    const client = openSse(`${first.url}/v1/runs/${run.id}/events`);
    await client.waitFor((events) => events.length >= 1);
    await appendEvents(fx.repos, run.id, 50, { terminal: false });
    await client.waitFor((events) => events.length >= 51);
    apis.splice(apis.indexOf(first), 1);
    await first.close();
    await client.closed;
    expect(ended(client.events)).toBe(false);
    // B2: a planned close is never a clean end without a word: the last frame says where to resume.
    expect(client.frames.at(-1)).toEqual({
      id: undefined,
      event: 'reconnect',
      data: JSON.stringify({ lastSeq: client.events.at(-1)!.seq }),
    });
    const second = await api();
    const resumed = openSse(`${second.url}/v1/runs/${run.id}/events`, {
      'last-event-id': String(client.events.at(-1)!.seq),
    });
    await appendEvents(fx.repos, run.id, 50);
    await resumed.closed;
    expect(seqs([...client.events, ...resumed.events])).toEqual(range(1, 102));
  });

  it('row 71: Connection: close on an SSE request is honoured: the server closes the socket after the end', async () => {
    const { url } = await api();
    fx.outbox(bus);
    const run = await seedRun(fx.repos);
    await appendEvents(fx.repos, run.id, 3);
    const res = await rawHttp(
      url,
      `GET /v1/runs/${run.id}/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\nConnection: close\r\n\r\n`,
      { untilMs: 5000 },
    );
    expect(res.status).toBe(200);
    expect(res.head).toMatch(/^connection: close$/im);
    expect(res.body).toContain('run.completed');
    expect(res.closedByServer).toBe(true);
  });

  it('every answer keeps the shape while the server closes: a request on an open connection gets a 503 in the contract shape', async () => {
    // A bus whose unsubscribe waits until released holds the close while its stream ends.
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    let unsubscribing = false;
    const slow: Bus = {
      ...bus,
      async subscribe(runId, handlers) {
        const subscription = await bus.subscribe(runId, handlers);
        return {
          close: async () => {
            unsubscribing = true;
            await held;
            await subscription.close();
          },
        };
      },
      close: async () => undefined,
    };
    const first = await api({}, slow);
    fx.outbox(bus);
    const run = await seedRun(fx.repos);
    const stream = openSse(`${first.url}/v1/runs/${run.id}/events`);
    await stream.waitFor((events) => events.length === 1);
    // Idle keep-alive connections, as a browser keeps between two requests.
    const { port } = new URL(first.url);
    const idle = async () => {
      const socket = connect(Number(port), '127.0.0.1');
      const state = { received: '', closed: new Promise<void>((r) => socket.once('close', r)) };
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => (state.received += chunk));
      socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
      await vi.waitUntil(() => state.received.includes('"ok"'), { timeout: 5000, interval: 10 });
      return { socket, state, answered: state.received.length };
    };
    const [a, b] = [await idle(), await idle()];
    apis.splice(apis.indexOf(first), 1);
    const closing = first.close();
    await vi.waitUntil(() => unsubscribing, { timeout: 5000, interval: 10 });
    // The process still lives: liveness answers 200 until it exits; anything else is a 503.
    a.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    b.socket.write('GET /v1/runs HTTP/1.1\r\nHost: x\r\n\r\n');
    await Promise.all([a.state.closed, b.state.closed]);
    release();
    await closing;
    expect(a.state.received.slice(a.answered)).toMatch(/^HTTP\/1\.1 200 /);
    const refused = b.state.received.slice(b.answered);
    expect(refused).toMatch(/^HTTP\/1\.1 503 /);
    expect(refused).toMatch(/^connection: close$/im);
    expect(JSON.parse(refused.slice(refused.indexOf('\r\n\r\n') + 4))).toEqual({
      error: { code: 'UNAVAILABLE', message: expect.any(String) },
    });
  });

  it('B2: a keep-alive stream ended by shutdown closes its connection, so the close does not wait on it', async () => {
    const first = await api();
    const run = await seedRun(fx.repos);
    const res = rawHttp(
      first.url,
      `GET /v1/runs/${run.id}/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\nConnection: keep-alive\r\n\r\n`,
      { untilMs: 8000 },
    );
    await vi.waitUntil(
      async () => /runstream_sse_streams_open 1/.test((await first.app.inject('/metrics')).body),
      { timeout: 5000, interval: 20 },
    );
    apis.splice(apis.indexOf(first), 1);
    const started = Date.now();
    await first.close();
    const exchange = await res;
    expect(exchange.closedByServer).toBe(true);
    expect(exchange.body).toContain('event: reconnect');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it.each(['published', 'committed'] as const)(
    'property (%s replay): reconnecting at 50 random points of a 2,000-event live run gives each seq once, in order',
    async (replay) => {
      const { url } = await api({ replay });
      fx.outbox(bus);
      await fc.assert(
        fc.asyncProperty(
          fc.uniqueArray(fc.integer({ min: 1, max: 2001 }), { minLength: 50, maxLength: 50 }),
          fc.array(fc.boolean(), { minLength: 50, maxLength: 50 }),
          async (cutPoints, useFromSeq) => {
            const cuts = [...cutPoints].sort((a, b) => a - b);
            const run = await seedRun(fx.repos);
            const writing = appendEvents(fx.repos, run.id, 2000, { batch: 20 });
            const received: RunEventEnvelope[] = [];
            let connection = 0;
            for (;;) {
              const last = received.at(-1)?.seq ?? 0;
              // Alternate the two ways to resume: Last-Event-ID (exclusive) and fromSeq (inclusive).
              const resume = useFromSeq[connection % 50]
                ? { query: `?fromSeq=${last + 1}`, headers: {} }
                : {
                    query: '',
                    headers: (last > 0 ? { 'last-event-id': String(last) } : {}) as Record<
                      string,
                      string
                    >,
                  };
              const client = openSse(
                `${url}/v1/runs/${run.id}/events${resume.query}`,
                resume.headers,
              );
              const cut = cuts[connection++];
              if (cut === undefined) {
                await client.closed;
                received.push(...client.events);
                break;
              }
              await client
                .waitFor((events) => ended(events) || (events.at(-1)?.seq ?? last) >= cut)
                .catch(() => undefined);
              client.close();
              await client.closed;
              received.push(...client.events);
              if (ended(received)) break;
            }
            await writing;
            expect(seqs(received)).toEqual(range(1, 2002));
          },
        ),
        { numRuns: 3 },
      );
    },
  );
});

describe('replay modes', () => {
  it('published (the default): JSON pages and streams show what the outbox has published, never more; committed shows every committed event', async () => {
    // A database of its own: the publishers of the tests above publish everything on theirs.
    const own = await openFixture();
    const ownBus = await createBus(
      { kind: 'postgres' },
      { databaseUrl: own.testDb.url, name: 'replay-test' },
    );
    const published = await startTestApi(own.testDb, { heartbeatMs: 200 }, ownBus);
    const committed = await startTestApi(
      own.testDb,
      { heartbeatMs: 200, replay: 'committed' },
      ownBus,
    );
    try {
      const run = await seedRun(own.repos);
      await appendEvents(own.repos, run.id, 9, { terminal: false });
      // The outbox has published seqs 1..4 only.
      await own.testDb.db.transaction((tx) =>
        own.repos.outbox.markPublished(tx, [{ runId: run.id, upToSeq: 4 }]),
      );
      const page = async (base: string) =>
        (await (await fetch(`${base}/v1/runs/${run.id}/events?fromSeq=2`)).json()) as {
          events: RunEventEnvelope[];
          nextSeq: number;
          terminal: boolean;
        };
      expect(await page(published.url)).toMatchObject({ nextSeq: 5, terminal: false });
      expect(seqs((await page(published.url)).events)).toEqual([2, 3, 4]);
      expect(seqs((await page(committed.url)).events)).toEqual(range(2, 10));

      const early = openSse(`${published.url}/v1/runs/${run.id}/events`);
      const eager = openSse(`${committed.url}/v1/runs/${run.id}/events`);
      await early.waitFor((events) => events.length === 4);
      await eager.waitFor((events) => events.length === 10);
      // Past the first poll instant, still nothing the outbox has not published.
      await early.waitFor(() => early.comments >= 6);
      expect(seqs(early.events)).toEqual(range(1, 4));
      // The outbox catches up and publishes the rest: the published stream follows; both end.
      own.outbox(ownBus);
      await appendEvents(own.repos, run.id, 5);
      await Promise.all([early.closed, eager.closed]);
      expect(seqs(early.events)).toEqual(range(1, 16));
      expect(seqs(eager.events)).toEqual(range(1, 16));
    } finally {
      await published.close();
      await committed.close();
      await ownBus.close();
      await own.close();
    }
  });
});
