import { randomBytes, randomUUID } from 'node:crypto';

import { connect as natsConnect } from '@nats-io/transport-node';
import { loadBusSigningKey } from '@runstream/persistence';
import { type TestDatabase, createTestDatabase } from '@runstream/persistence/testing';
import pg from 'pg';
import { type TestNatsServer, natsForTests, startNatsServer } from '@runstream/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import type { Bus, BusMessage, Subscription } from './bus.js';
import { createBus } from './create-bus.js';
import { createMessageCodec } from './message-codec.js';
import { runChannel } from './postgres-bus.js';
import { BusError } from './errors.js';

const withNats = await natsForTests('bus contract on nats');

/** How long and how often the tests poll for a condition. */
const poll = { timeout: 15_000, interval: 20 };

let database: TestDatabase;
let nats: TestNatsServer;
let signingKey: Buffer;

beforeAll(async () => {
  database = await createTestDatabase();
  if (withNats) nats = await startNatsServer();
  const admin = new pg.Client({ connectionString: database.url });
  await admin.connect();
  try {
    signingKey = await loadBusSigningKey(admin);
  } finally {
    await admin.end();
  }
});
afterAll(async () => {
  await nats?.close();
  await database?.drop();
});

interface Adapter {
  name: 'memory' | 'postgres' | 'nats';
  /** A publishing bus and a subscribing bus: two processes' worth, except for memory. */
  open(): Promise<{ publisher: Bus; subscriber: Bus }>;
  /** Bytes from which an event travels as a pointer; undefined when the adapter never needs to. */
  pointerFrom?: number;
  /** Cuts the transport under both buses and brings it back. */
  restart?(): Promise<void>;
  /** Puts a payload on the run's channel or subject as any client of the transport could. */
  raw?(runId: string, payload: string): Promise<void>;
}

const adapters: Adapter[] = [
  {
    name: 'memory',
    async open() {
      const bus = await createBus({ kind: 'memory' }, { databaseUrl: '' });
      return { publisher: bus, subscriber: bus };
    },
  },
  {
    name: 'postgres',
    pointerFrom: 8000,
    async open() {
      const publisher = await createBus(
        { kind: 'postgres' },
        { databaseUrl: database.url, name: 'contract-pub', signingKey },
      );
      const subscriber = await createBus(
        { kind: 'postgres' },
        { databaseUrl: database.url, name: 'contract-sub', signingKey },
      );
      return { publisher, subscriber };
    },
    async raw(runId, payload) {
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      try {
        await client.query('SELECT pg_notify($1, $2)', [runChannel(runId), payload]);
      } finally {
        await client.end();
      }
    },
    async restart() {
      // What a database restart does to the buses: every one of their connections dies.
      const admin = new pg.Client({ connectionString: database.url });
      await admin.connect();
      try {
        const { rows } = await admin.query<{ n: number }>(
          `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
            WHERE datname = current_database() AND application_name LIKE 'contract-%'`,
        );
        expect(rows[0]!.n).toBeGreaterThan(0);
      } finally {
        await admin.end();
      }
    },
  },
  {
    name: 'nats',
    async open() {
      const publisher = await createBus(
        { kind: 'nats', url: nats.url },
        { databaseUrl: '', name: 'contract-pub', signingKey },
      );
      const subscriber = await createBus(
        { kind: 'nats', url: nats.url },
        { databaseUrl: '', name: 'contract-sub', signingKey },
      );
      return { publisher, subscriber };
    },
    async raw(runId, payload) {
      const nc = await natsConnect({ servers: nats.url });
      try {
        nc.publish(`runstream.runs.${runId}`, payload);
        await nc.flush();
      } finally {
        await nc.close();
      }
    },
    async restart() {
      await nats.stop('SIGKILL');
      await nats.start();
    },
  },
];

const event = (runId: string, seq: number, data: Record<string, unknown> = { seq }) => ({
  runId,
  seq,
  type: 'text.delta',
  at: new Date().toISOString(),
  data,
});
const message = (runId: string, seq: number, data?: Record<string, unknown>): BusMessage => ({
  source: 'outbox',
  runId,
  seq,
  event: event(runId, seq, data),
});

/** A subscriber that records what it gets. */
function recorder() {
  const messages: BusMessage[] = [];
  const resyncs: string[] = [];
  return {
    messages,
    resyncs,
    seqs: () => messages.map((m) => m.seq),
    handlers: {
      onMessage: (m: BusMessage) => void messages.push(m),
      onResync: (r: string) => void resyncs.push(r),
    },
  };
}

describe.each(adapters.filter((a) => withNats || a.name !== 'nats'))(
  'bus contract: $name',
  (adapter) => {
    let publisher: Bus;
    let subscriber: Bus;
    const subscriptions: Subscription[] = [];

    beforeAll(async () => {
      ({ publisher, subscriber } = await adapter.open());
    });
    afterEach(async () => {
      await Promise.all(subscriptions.splice(0).map((s) => s.close()));
    });
    afterAll(async () => {
      await publisher?.close();
      if (subscriber !== publisher) await subscriber?.close();
    });

    const subscribe = async (runId: string, handlers: ReturnType<typeof recorder>['handlers']) => {
      const s = await subscriber.subscribe(runId, handlers);
      subscriptions.push(s);
      return s;
    };

    it("delivers a run's messages in order, each with source, runId and seq, only to that run's subscribers", async () => {
      const a = randomUUID();
      const b = randomUUID();
      const ra = recorder();
      const rb = recorder();
      await subscribe(a, ra.handlers);
      await subscribe(b, rb.handlers);
      const batch: BusMessage[] = [];
      for (let seq = 1; seq <= 300; seq++) batch.push(message(a, seq), message(b, seq));
      await publisher.publish(batch.slice(0, 200));
      await publisher.publish(batch.slice(200));
      await vi.waitUntil(() => ra.messages.length >= 300 && rb.messages.length >= 300, poll);
      const expected = Array.from({ length: 300 }, (_, i) => i + 1);
      expect(ra.seqs()).toEqual(expected);
      expect(rb.seqs()).toEqual(expected);
      expect(
        ra.messages.every((m) => m.source === 'outbox' && m.runId === a && m.event?.seq === m.seq),
      ).toBe(true);
      expect(rb.messages.every((m) => m.runId === b)).toBe(true);
    });

    it('resolves subscribe only once the subscription is active: a message published right after arrives', async () => {
      const got = await Promise.all(
        Array.from({ length: 20 }, async () => {
          const runId = randomUUID();
          const r = recorder();
          await subscribe(runId, r.handlers);
          await publisher.publish([message(runId, 1)]);
          await vi.waitUntil(() => r.messages.length === 1, { timeout: 5000, interval: 20 });
          return r.seqs();
        }),
      );
      expect(got).toEqual(Array.from({ length: 20 }, () => [1]));
    });

    it('fans one transport subscription out to every subscriber of the run, and stops at close', async () => {
      const runId = randomUUID();
      const r1 = recorder();
      const r2 = recorder();
      const s1 = await subscribe(runId, r1.handlers);
      await subscribe(runId, r2.handlers);
      await publisher.publish([message(runId, 1)]);
      await vi.waitUntil(() => r1.messages.length === 1 && r2.messages.length === 1, poll);
      await s1.close();
      await publisher.publish([message(runId, 2)]);
      await vi.waitUntil(() => r2.messages.length === 2, poll);
      // A marker on another run, published after seq 2, proves seq 2 had its chance to reach r1.
      const marker = recorder();
      const other = randomUUID();
      await subscribe(other, marker.handlers);
      await publisher.publish([message(runId, 3), message(other, 1)]);
      await vi.waitUntil(() => marker.messages.length === 1 && r2.messages.length === 3, poll);
      expect(r1.seqs()).toEqual([1]);
      expect(r2.seqs()).toEqual([1, 2, 3]);
    });

    it('carries an event too large for the transport as a pointer (runId, seq, no event)', async () => {
      const runId = randomUUID();
      const r = recorder();
      await subscribe(runId, r.handlers);
      const small = message(runId, 1, { text: 'x'.repeat(100) });
      const large = message(runId, 2, { text: 'é'.repeat(5000) });
      await publisher.publish([small, large]);
      await vi.waitUntil(() => r.messages.length === 2, poll);
      expect(r.messages[0]).toEqual(small);
      if (adapter.pointerFrom !== undefined)
        expect(r.messages[1]).toEqual({ source: 'outbox', runId, seq: 2 });
      else expect(r.messages[1]).toEqual(large);
    });

    it.skipIf(!adapter.raw)(
      'security row 102: delivers an event only when its signature verifies; a forged, tampered or foreign one arrives as a pointer',
      async () => {
        const runId = randomUUID();
        const r = recorder();
        await subscribe(runId, r.handlers);
        const forged = message(runId, 1, { forged: true });
        forged.event!.type = 'run.completed';
        // A client of the broker with no key: the event as plain JSON, or signed by another key.
        await adapter.raw!(runId, JSON.stringify(forged));
        await adapter.raw!(
          runId,
          createMessageCodec(randomBytes(32)).encode(message(runId, 2), 8000),
        );
        // Another run's genuine message put on this run's channel is not this run's.
        await adapter.raw!(
          runId,
          createMessageCodec(signingKey).encode(message(randomUUID(), 3), 8000),
        );
        const genuine = message(runId, 4);
        await publisher.publish([genuine]);
        await vi.waitUntil(() => r.messages.length >= 3, poll);
        expect(r.messages).toEqual([
          { source: 'outbox', runId, seq: 1 },
          { source: 'outbox', runId, seq: 2 },
          genuine,
        ]);
      },
    );

    it('refuses a message that breaks the contract with INVALID_MESSAGE', async () => {
      const runId = randomUUID();
      await expect(publisher.publish([{ ...message(runId, 1), seq: 0 }])).rejects.toMatchObject({
        code: 'INVALID_MESSAGE',
      });
      await expect(
        publisher.publish([{ ...message(runId, 2), runId: randomUUID() }]),
      ).rejects.toBeInstanceOf(BusError);
      expect(await publisher.ping()).toBe(true);
    });

    it.skipIf(!adapter.restart)(
      'after a restart reconnects, re-subscribes and tells subscribers to resync',
      async () => {
        const runId = randomUUID();
        const r = recorder();
        await subscribe(runId, r.handlers);
        await publisher.publish([message(runId, 1)]);
        await vi.waitUntil(() => r.messages.length === 1, poll);
        await adapter.restart!();
        await vi.waitUntil(() => r.resyncs.length >= 1, { ...poll, timeout: 20_000 });
        // The publisher reconnects too; until then a publish fails with BUS_UNAVAILABLE, never silently.
        await vi.waitUntil(
          async () => {
            try {
              await publisher.publish([message(runId, 2)]);
              return true;
            } catch (error) {
              expect(error).toMatchObject({ code: 'BUS_UNAVAILABLE' });
              return false;
            }
          },
          { timeout: 20_000, interval: 100 },
        );
        await vi.waitUntil(() => r.messages.some((m) => m.seq === 2), poll);
        expect(r.seqs()).toEqual([1, 2]);
        expect(await subscriber.ping()).toBe(true);
      },
    );

    it('answers ping, and refuses to publish after close', async () => {
      const extra = await adapter.open();
      expect(await extra.publisher.ping()).toBe(true);
      await extra.publisher.close();
      if (extra.subscriber !== extra.publisher) await extra.subscriber.close();
      expect(await extra.publisher.ping()).toBe(false);
      await expect(extra.publisher.publish([message(randomUUID(), 1)])).rejects.toMatchObject({
        code: 'BUS_CLOSED',
      });
    });
  },
);
