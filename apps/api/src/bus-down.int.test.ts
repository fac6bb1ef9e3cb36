import { type Bus, createNatsBus, createPostgresBus } from '@runstream/bus';
import {
  type TestNatsServer,
  natsForTests,
  startNatsServer,
  startTcpProxy,
} from '@runstream/testkit';
import type { RunEventEnvelope } from '@runstream/events';
import { seedRun } from '@runstream/persistence/testing';
import { openSse } from '@runstream/stream/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import {
  type StreamFixture,
  type TestApi,
  appendEvents,
  openFixture,
  range,
  startTestApi,
} from './testing/harness.js';

const withNats = await natsForTests('the api bus connection to nats');

let fx: StreamFixture;
let nats: TestNatsServer;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  fx = await openFixture();
  if (withNats) nats = await startNatsServer();
});
afterEach(async () => {
  await fx.stopOutboxes();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(async () => {
  await nats?.close();
  await fx?.close();
});

/** How often a stream reads the database while the bus is down, in these tests. */
const POLL_MS = 250;

function own<T extends { close(): Promise<unknown> }>(thing: T): T {
  cleanups.push(() => thing.close());
  return thing;
}

/**
 * An api whose heartbeat (and so its end-of-run check) is far away: whatever a stream gets while
 * the bus is down, it gets from its own polling.
 */
async function api(bus: Bus, replay: 'published' | 'committed' = 'published'): Promise<TestApi> {
  return own(
    await startTestApi(fx.testDb, { heartbeatMs: 60_000, streamPollMs: POLL_MS, replay }, bus),
  );
}

const seqs = (events: readonly RunEventEnvelope[]) => events.map((e) => e.seq);

interface Transport {
  name: 'postgres' | 'nats';
  port(): number;
  url(): string;
  open(url: string): Promise<Bus>;
}

const transports: Transport[] = [
  {
    name: 'postgres',
    port: () => Number(new URL(fx.testDb.url).port),
    url: () => fx.testDb.url,
    open: async (url) => createPostgresBus({ url, subscribeTimeoutMs: 500 }),
  },
  {
    name: 'nats',
    port: () => nats.port,
    url: () => nats.url,
    open: (url) => createNatsBus({ url, subscribeTimeoutMs: 500 }),
  },
];

describe.each(transports.filter((t) => withNats || t.name !== 'nats'))(
  "the api's $name bus connection goes silent",
  (transport) => {
    it('B1: streams, old and new, follow from the database, each event live within the poll interval, and end exactly', async () => {
      const proxy = own(await startTcpProxy({ targetPort: transport.port() }));
      const apiBus = own(await transport.open(proxy.url(transport.url())));
      // The outbox loop keeps publishing and marking on its own connection.
      const outboxBus = own(await transport.open(transport.url()));
      fx.outbox(outboxBus);
      const { url } = await api(apiBus);
      const run = await seedRun(fx.repos);
      const before = openSse(`${url}/v1/runs/${run.id}/events`);
      await appendEvents(fx.repos, run.id, 20, { terminal: false });
      await before.waitFor((events) => events.length === 21);

      expect(proxy.blackhole()).toBeGreaterThan(0);
      const during = openSse(`${url}/v1/runs/${run.id}/events`);
      await during.waitFor((events) => events.length === 21);
      await appendEvents(fx.repos, run.id, 5, { terminal: false });
      // A silent connection is found within the health check interval plus its deadline (the 6 s
      // bound of docs/bus.md), then every stream polls. A 5 s wait failed in CI when the last health
      // check had passed just before the blackhole: wait for the bound and two polls.
      await during.waitFor((events) => events.length === 26, 6000 + 2 * POLL_MS + 1000);
      // Still the one silent connection: the bus has not come back, the stream polled.
      expect(proxy.counters.connections).toBe(1);

      // The bus comes back on a new connection (the proxy passes new ones); the rest flows live.
      await appendEvents(fx.repos, run.id, 30, { batch: 3 });
      await Promise.all([before.closed, during.closed]);
      expect(seqs(before.events)).toEqual(range(1, 57));
      expect(seqs(during.events)).toEqual(range(1, 57));
      expect(proxy.counters.connections).toBeGreaterThan(1);
    });
  },
);

describe.runIf(withNats)('the NATS server is gone (SIGKILL) and stays gone', () => {
  it('B1: a new stream replays and follows committed events from the database and ends after the terminal event', async () => {
    const apiBus = own(await createNatsBus({ url: nats.url, subscribeTimeoutMs: 500 }));
    // Nothing can be published while the bus is gone: committed replay is what keeps streams going.
    const { url } = await api(apiBus, 'committed');
    const run = await seedRun(fx.repos);
    await appendEvents(fx.repos, run.id, 10, { terminal: false });
    await nats.stop('SIGKILL');
    cleanups.push(() => nats.start());

    const stream = openSse(`${url}/v1/runs/${run.id}/events`);
    await stream.waitFor((events) => events.length === 11);
    await appendEvents(fx.repos, run.id, 1, { terminal: false });
    await stream.waitFor((events) => events.length === 12, 5000);
    await appendEvents(fx.repos, run.id, 40, { batch: 4 });
    await stream.closed;
    expect(seqs(stream.events)).toEqual(range(1, 53));
  });
});
