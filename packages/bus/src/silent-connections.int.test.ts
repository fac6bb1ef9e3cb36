import { randomUUID } from 'node:crypto';

import { type TestDatabase, createTestDatabase } from '@runstream/persistence/testing';
import {
  type TcpProxy,
  type TestNatsServer,
  natsForTests,
  startNatsServer,
  startTcpProxy,
} from '@runstream/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import type { Bus, BusMessage, SubscriptionHandlers } from './bus.js';
import { createNatsBus } from './nats-bus.js';
import { createPostgresBus } from './postgres-bus.js';

const withNats = await natsForTests('a silent connection to the nats bus');

/** The contract: a silent connection is noticed, and the bus is back, within this. */
const NOTICE_MS = 10_000;

let database: TestDatabase;
let nats: TestNatsServer;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  if (withNats) nats = await startNatsServer();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(async () => {
  await nats?.close();
  await database?.drop();
});

const message = (runId: string, seq: number): BusMessage => ({
  source: 'outbox',
  runId,
  seq,
  event: { runId, seq, type: 'text.delta', at: new Date().toISOString(), data: { seq } },
});

/** A subscriber that records what it hears, with the time of each down and resync. */
function recorder() {
  const seqs: number[] = [];
  const downs: number[] = [];
  const resyncs: number[] = [];
  const handlers: SubscriptionHandlers = {
    onMessage: (m) => void seqs.push(m.seq),
    onResync: () => void resyncs.push(Date.now()),
    onDown: () => void downs.push(Date.now()),
  };
  return { seqs, downs, resyncs, handlers };
}

async function proxied(port: number): Promise<TcpProxy> {
  const proxy = await startTcpProxy({ targetPort: port });
  cleanups.push(() => proxy.close());
  return proxy;
}

function own<T extends Bus>(bus: T): T {
  cleanups.push(() => bus.close());
  return bus;
}

interface Transport {
  name: string;
  port(): number;
  /** A bus whose every connection goes through `url`. */
  open(url: string): Promise<Bus>;
  url(): string;
}

const transports: Transport[] = [
  {
    name: 'postgres',
    port: () => Number(new URL(database.url).port),
    url: () => database.url,
    open: async (url) => createPostgresBus({ url, applicationName: 'silent-test' }),
  },
  {
    name: 'nats',
    port: () => nats.port,
    url: () => nats.url,
    open: (url) => createNatsBus({ url, name: 'silent-test' }),
  },
];

describe.each(transports.filter((t) => withNats || t.name !== 'nats'))(
  'a silent connection to the $name bus',
  (transport) => {
    it('A2: is noticed within 10 s (onDown); once the network heals the bus reconnects, resubscribes and resyncs, and live messages flow again', async () => {
      const proxy = await proxied(transport.port());
      const subscriber = own(await transport.open(proxy.url(transport.url())));
      const publisher = own(await transport.open(transport.url()));
      const runId = randomUUID();
      const r = recorder();
      await subscriber.subscribe(runId, r.handlers);
      await publisher.publish([message(runId, 1)]);
      await vi.waitUntil(() => r.seqs.length === 1, { timeout: 5000, interval: 20 });

      // A partition: open sockets stay open and nothing passes either way any more, and new
      // connections get nowhere either.
      expect(proxy.blackhole()).toBeGreaterThan(0);
      proxy.mode('blackhole');
      const silentAt = Date.now();
      await publisher.publish([message(runId, 2)]);
      await vi.waitUntil(() => r.downs.length > 0, { timeout: NOTICE_MS, interval: 20 });
      expect(r.downs[0]! - silentAt).toBeLessThan(NOTICE_MS);
      expect(r.resyncs).toEqual([]);

      // The network heals: the bus gets a new connection, resubscribes and resyncs.
      proxy.heal();
      const healedAt = Date.now();
      await vi.waitUntil(() => r.resyncs.length > 0, { timeout: 15_000, interval: 20 });
      expect(r.resyncs[0]! - healedAt).toBeLessThan(15_000);

      // Back on a new connection: what is published now arrives live.
      await publisher.publish([message(runId, 3)]);
      await vi.waitUntil(() => r.seqs.includes(3), { timeout: 5000, interval: 20 });
      // Seq 2 went out while the connection was dead: lost on the wire, which the resync covers.
      expect(r.seqs).toEqual([1, 3]);
    });

    it('B1: subscribe during a silent stall resolves within its deadline, says the bus is down, and resyncs once it is back', async () => {
      const proxy = await proxied(transport.port());
      const subscriber = own(await transport.open(proxy.url(transport.url())));
      const publisher = own(await transport.open(transport.url()));
      // An active subscription, so the bus's connection is established before it goes silent.
      await subscriber.subscribe(randomUUID(), recorder().handlers);
      proxy.blackhole();

      const runId = randomUUID();
      const r = recorder();
      const started = Date.now();
      await subscriber.subscribe(runId, r.handlers);
      expect(Date.now() - started).toBeLessThan(5000);
      expect(r.downs.length).toBe(1);
      await vi.waitUntil(() => r.resyncs.length > 0, { timeout: NOTICE_MS, interval: 20 });
      await publisher.publish([message(runId, 1)]);
      await vi.waitUntil(() => r.seqs.includes(1), { timeout: 5000, interval: 20 });
    });
  },
);

describe('the postgres bus publish pool', () => {
  it('A2: a publish on a silent connection fails within 10 s as BUS_UNAVAILABLE, and the next publish uses a new connection', async () => {
    const proxy = await proxied(Number(new URL(database.url).port));
    const publisher = own(createPostgresBus({ url: proxy.url(database.url) }));
    const subscriber = own(createPostgresBus({ url: database.url }));
    const runId = randomUUID();
    const r = recorder();
    await subscriber.subscribe(runId, r.handlers);
    await publisher.publish([message(runId, 1)]);
    proxy.blackhole();
    const started = Date.now();
    await expect(publisher.publish([message(runId, 2)])).rejects.toMatchObject({
      code: 'BUS_UNAVAILABLE',
    });
    expect(Date.now() - started).toBeLessThan(NOTICE_MS);
    await publisher.publish([message(runId, 3)]);
    await vi.waitUntil(() => r.seqs.includes(3), { timeout: 5000, interval: 20 });
  });
});
