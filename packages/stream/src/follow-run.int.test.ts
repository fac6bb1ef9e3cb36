import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { type Bus, type SubscriptionHandlers, createMemoryBus } from '@runstream/bus';
import { type MessageFate, cycle, when, withMessageFaults } from '@runstream/bus/testing';
import type { RunEventEnvelope } from '@runstream/events';
import { startOutboxLoop } from '@runstream/outbox/testing';
import { seedRun, useTestDatabase } from '@runstream/persistence/testing';
import { toEnvelope } from '@runstream/persistence';

import { followRun } from './follow-run.js';
import { MAX_SEQ } from './start-point.js';

const testDb = useTestDatabase({ beforeAll, afterAll });
const repos = testDb.repos;
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function appendAll(runId: string, n: number, batch = 25, terminal = true): Promise<void> {
  // seedRun wrote seq 1; events 2..n+1 follow, then the terminal event.
  for (let i = 0; i < n; i += batch) {
    const size = Math.min(batch, n - i);
    await repos.events.append(
      runId,
      Array.from({ length: size }, (_, k) => ({
        type: 'synthetic.tick' as const,
        data: { index: i + k + 1 },
      })),
    );
  }
  if (terminal)
    await repos.events.append(runId, [{ type: 'run.completed', data: { output: null } }]);
}

type Replay = 'published' | 'committed';

async function collect(
  replay: Replay,
  bus: Bus,
  runId: string,
  afterSeq = 0,
  onBatch?: () => void,
): Promise<RunEventEnvelope[]> {
  const controller = new AbortController();
  const follower = followRun(
    { bus, events: repos.events },
    { runId, afterSeq, signal: controller.signal, pageSize: 50, replay },
  );
  const timer = setInterval(() => follower.check(), 200);
  const out: RunEventEnvelope[] = [];
  try {
    for await (const batch of follower) {
      out.push(...batch);
      onBatch?.();
    }
  } finally {
    clearInterval(timer);
  }
  return out;
}

function seqs(events: readonly RunEventEnvelope[]): number[] {
  return events.map((e) => e.seq);
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

describe.each<Replay>(['published', 'committed'])('followRun, %s replay', (replay) => {
  it('closes the replay-to-live race: events committed between subscribe and replay arrive once', async () => {
    const run = await seedRun(repos);
    const inner = createMemoryBus();
    // The run must not end before the injected events are in: the rest waits for them.
    let injected!: () => void;
    const injectedDone = new Promise<void>((resolve) => (injected = resolve));
    // The bus activates the subscription, then events are appended and published before the
    // follower's first replay query runs: they reach it both live and from the replay.
    const bus: Bus = {
      ...inner,
      async subscribe(runId, handlers) {
        const subscription = await inner.subscribe(runId, handlers);
        const { firstSeq, lastSeq } = await repos.events.append(runId, [
          { type: 'synthetic.tick', data: { index: 1 } },
          { type: 'synthetic.tick', data: { index: 1 } },
        ]);
        const rows = await repos.events.readPage(runId, { fromSeq: firstSeq, toSeq: lastSeq });
        await inner.publish(
          rows.map((row) => ({
            source: 'outbox',
            runId,
            seq: row.seq,
            event: {
              runId,
              seq: row.seq,
              type: row.type,
              at: row.createdAt.toISOString(),
              data: row.data,
            },
          })),
        );
        injected();
        return subscription;
      },
    };
    const outbox = startOutboxLoop({ db: testDb.db, bus: inner });
    cleanups.push(() => outbox.stop());
    const received = collect(replay, bus, run.id);
    await injectedDone;
    await appendAll(run.id, 100);
    expect(seqs(await received)).toEqual(range(1, 104));
  });

  it('gives a perfect stream when the bus drops, repeats and truncates messages', async () => {
    const run = await seedRun(repos);
    const bus = createMemoryBus();
    const fates: MessageFate[] = [
      'deliver',
      'deliver',
      'drop',
      'repeat',
      'pointer',
      'deliver',
      'drop',
    ];
    // The terminal message is lost too: only the heartbeat check can end the stream.
    const faulty = withMessageFaults(
      bus,
      when((m) => m.event?.type === 'run.completed', 'drop', cycle(fates)),
    );
    const outbox = startOutboxLoop({ db: testDb.db, bus: faulty });
    cleanups.push(() => outbox.stop());
    const received = collect(replay, bus, run.id);
    await appendAll(run.id, 500, 7);
    const events = await received;
    expect(seqs(events)).toEqual(range(1, 502));
    expect(events.at(-1)?.type).toBe('run.completed');
    // Every kind of fault reached the follower: gaps, duplicates and pointers were healed.
    expect(faulty.counts.drop).toBeGreaterThan(100);
    expect(faulty.counts.repeat).toBeGreaterThan(50);
    expect(faulty.counts.pointer).toBeGreaterThan(50);
  });

  it('replays an ended run from its start point and ends', async () => {
    const run = await seedRun(repos);
    await appendAll(run.id, 120);
    const bus = createMemoryBus();
    const outbox = startOutboxLoop({ db: testDb.db, bus });
    cleanups.push(() => outbox.stop());
    await outbox.drained();
    expect(seqs(await collect(replay, bus, run.id))).toEqual(range(1, 122));
    expect(seqs(await collect(replay, bus, run.id, 100))).toEqual(range(101, 122));
    expect(seqs(await collect(replay, bus, run.id, 121))).toEqual([122]);
  });

  it('B7: with pageMaxBytes the replay reads pages bounded in bytes, and still delivers every event', async () => {
    const run = await seedRun(repos);
    const pad = 'x'.repeat(10_000);
    for (let i = 0; i < 40; i += 10) {
      await repos.events.append(
        run.id,
        Array.from({ length: 10 }, (_, k) => ({
          type: 'synthetic.tick' as const,
          data: { index: i + k + 1, payload: pad },
        })),
      );
    }
    await repos.events.append(run.id, [{ type: 'run.completed', data: { output: null } }]);
    const bus = createMemoryBus();
    const outbox = startOutboxLoop({ db: testDb.db, bus });
    cleanups.push(() => outbox.stop());
    await outbox.drained();
    const controller = new AbortController();
    const follower = followRun(
      { bus, events: repos.events },
      {
        runId: run.id,
        afterSeq: 0,
        signal: controller.signal,
        pageSize: 50,
        pageMaxBytes: 45_000,
        replay,
      },
    );
    const batches: RunEventEnvelope[][] = [];
    for await (const batch of follower) batches.push(batch);
    expect(seqs(batches.flat())).toEqual(range(1, 42));
    // Each page stops at the event that reaches the bound: what comes before it stays below.
    expect(batches.length).toBeGreaterThan(5);
    for (const batch of batches) {
      const before = batch.slice(0, -1).reduce((sum, e) => sum + JSON.stringify(e.data).length, 0);
      expect(before).toBeLessThan(45_000);
    }
  });

  it('waits on a run that has not started, then follows it live', async () => {
    const run = await seedRun(repos);
    const bus = createMemoryBus();
    const outbox = startOutboxLoop({ db: testDb.db, bus });
    cleanups.push(() => outbox.stop());
    let batches = 0;
    let firstSeen!: () => void;
    const first = new Promise<void>((resolve) => (firstSeen = resolve));
    const received = collect(replay, bus, run.id, 0, () => {
      batches++;
      firstSeen();
    });
    await first;
    expect(batches).toBe(1);
    await appendAll(run.id, 60, 3);
    expect(seqs(await received)).toEqual(range(1, 62));
  });
});

/**
 * A bus decorator that can go down: while down it delivers nothing and has told its subscribers
 * (onDown, as the adapters do when a connection is lost); up() resyncs them.
 */
function downableBus(inner: Bus) {
  const subscribers = new Set<SubscriptionHandlers>();
  let isDown = false;
  const bus: Bus = {
    ...inner,
    async subscribe(runId, handlers) {
      const wrapped: SubscriptionHandlers = {
        onMessage: (m) => (isDown ? undefined : handlers.onMessage(m)),
        onResync: (r) => handlers.onResync(r),
        onDown: (r) => handlers.onDown?.(r),
      };
      subscribers.add(wrapped);
      const subscription = await inner.subscribe(runId, wrapped);
      if (isDown) wrapped.onDown!('down at subscribe');
      return {
        async close() {
          subscribers.delete(wrapped);
          await subscription.close();
        },
      };
    },
  };
  return {
    bus,
    down() {
      isDown = true;
      for (const s of subscribers) s.onDown!('transport lost');
    },
    up() {
      isDown = false;
      for (const s of subscribers) s.onResync('transport back');
    },
  };
}

describe('followRun, published replay', () => {
  const markPublished = (runId: string, upToSeq: number) =>
    testDb.db.transaction((tx) => repos.outbox.markPublished(tx, [{ runId, upToSeq }]));

  async function* iterateUntilEnd(follower: AsyncIterable<RunEventEnvelope[]>) {
    for await (const batch of follower) yield seqs(batch);
  }

  it('replays only what the outbox has published, and reads an announced event before its mark commits', async () => {
    const run = await seedRun(repos);
    await appendAll(run.id, 9, 9, false);
    await markPublished(run.id, 5);
    const bus = createMemoryBus();
    const controller = new AbortController();
    cleanups.push(async () => controller.abort());
    const batches = iterateUntilEnd(
      followRun(
        { bus, events: repos.events },
        { runId: run.id, afterSeq: 0, signal: controller.signal, replay: 'published' },
      ),
    );
    // Seqs 6..10 are committed, not published: the replay stops at the mark.
    expect((await batches.next()).value).toEqual(range(1, 5));
    // The outbox published seq 10 as a pointer; its mark (and 6..9's) has not committed.
    await bus.publish([{ source: 'outbox', runId: run.id, seq: 10 }]);
    expect((await batches.next()).value).toEqual(range(6, 10));
    const { lastSeq } = await repos.events.append(run.id, [
      { type: 'run.completed', data: { output: null } },
    ]);
    const [row] = await repos.events.readPage(run.id, { fromSeq: lastSeq });
    await bus.publish([{ source: 'outbox', runId: run.id, seq: lastSeq, event: toEnvelope(row!) }]);
    expect((await batches.next()).value).toEqual([11]);
    expect((await batches.next()).done).toBe(true);
  });

  it('finds an event published just before it subscribed, whose mark commits after its replay, at the next poll instant', async () => {
    const run = await seedRun(repos);
    await appendAll(run.id, 2, 2, false);
    await markPublished(run.id, 2);
    const bus = createMemoryBus();
    // Seq 3 went out on the bus before this follower subscribed; its mark is still on its way.
    const controller = new AbortController();
    cleanups.push(async () => controller.abort());
    const batches = iterateUntilEnd(
      followRun(
        { bus, events: repos.events },
        {
          runId: run.id,
          afterSeq: 0,
          signal: controller.signal,
          replay: 'published',
          pollIntervalMs: 200,
        },
      ),
    );
    expect((await batches.next()).value).toEqual([1, 2]);
    await markPublished(run.id, 3);
    // No heartbeat check in this test: only the follower's settling read can find it.
    expect((await batches.next()).value).toEqual([3]);
    controller.abort();
    expect((await batches.next()).done).toBe(true);
  });
});

describe('followRun with a busy consumer', () => {
  it('holds at most maxBufferedEvents live events while its consumer is busy', async () => {
    const run = await seedRun(repos);
    const bus = createMemoryBus();
    const controller = new AbortController();
    const follower = followRun(
      { bus, events: repos.events },
      {
        runId: run.id,
        afterSeq: 0,
        signal: controller.signal,
        maxBufferedEvents: 10,
        replay: 'committed',
      },
    );
    const iterator = follower[Symbol.asyncIterator]();
    expect(seqs((await iterator.next()).value as RunEventEnvelope[])).toEqual([1]);
    // The consumer is now "busy": 300 live events arrive before it asks for more.
    await appendAll(run.id, 300, 300, false);
    const rows = await repos.events.readPage(run.id, { fromSeq: 2 });
    await bus.publish(
      rows.map((row) => ({
        source: 'outbox',
        runId: run.id,
        seq: row.seq,
        event: {
          runId: run.id,
          seq: row.seq,
          type: row.type,
          at: row.createdAt.toISOString(),
          data: row.data,
        },
      })),
    );
    const rest: number[] = [];
    while (rest.length < 300)
      rest.push(...seqs((await iterator.next()).value as RunEventEnvelope[]));
    expect(rest).toEqual(range(2, 301));
    controller.abort();
    expect((await iterator.next()).done).toBe(true);
  });
});

describe('followRun at the largest seq', () => {
  it('A9: a start point at MAX_SEQ reads nothing past it, and ends when the run has ended', async () => {
    const run = await seedRun(repos);
    const bus = createMemoryBus();
    const controller = new AbortController();
    const follower = followRun(
      {
        bus,
        events: repos.events,
        terminalSeq: async (id) => {
          const current = await repos.runs.getById(id);
          return current.finishedAt ? current.nextSeq - 1 : undefined;
        },
      },
      { runId: run.id, afterSeq: MAX_SEQ, signal: controller.signal },
    );
    const received: RunEventEnvelope[] = [];
    const consumed = (async () => {
      for await (const batch of follower) received.push(...batch);
    })();
    await appendAll(run.id, 3);
    // The heartbeat's check: the run has ended, below the start point.
    follower.check();
    await consumed;
    expect(received).toEqual([]);
    expect(follower.lastSeq).toBe(MAX_SEQ);
  });
});

describe('followRun while the bus is down', () => {
  it('B1: polls the database (no heartbeat check), then goes live again after onResync, with no gap or duplicate', async () => {
    const run = await seedRun(repos);
    const transport = downableBus(createMemoryBus());
    const outbox = startOutboxLoop({ db: testDb.db, bus: transport.bus });
    cleanups.push(() => outbox.stop());
    const controller = new AbortController();
    cleanups.push(async () => controller.abort());
    const follower = followRun(
      { bus: transport.bus, events: repos.events },
      { runId: run.id, afterSeq: 0, signal: controller.signal, pollIntervalMs: 100 },
    );
    const received: RunEventEnvelope[] = [];
    let arrived: (() => void) | undefined;
    const consumed = (async () => {
      for await (const batch of follower) {
        received.push(...batch);
        arrived?.();
      }
    })();
    const until = async (n: number) => {
      while (received.length < n) await new Promise<void>((resolve) => (arrived = resolve));
    };

    await until(1);
    transport.down();
    // Nothing calls check(): only the follower's own polling can bring these.
    await appendAll(run.id, 20, 4, false);
    await until(21);
    transport.up();
    await appendAll(run.id, 30, 3);
    await consumed;
    expect(seqs(received)).toEqual(range(1, 52));
  });

  it('B1: a follower that subscribes while the bus is down replays, polls, and ends after the terminal event', async () => {
    const run = await seedRun(repos);
    await appendAll(run.id, 10, 5, false);
    const transport = downableBus(createMemoryBus());
    const outbox = startOutboxLoop({ db: testDb.db, bus: transport.bus });
    cleanups.push(() => outbox.stop());
    transport.down();
    const controller = new AbortController();
    const follower = followRun(
      { bus: transport.bus, events: repos.events },
      { runId: run.id, afterSeq: 0, signal: controller.signal, pollIntervalMs: 100 },
    );
    const received: RunEventEnvelope[] = [];
    const consumed = (async () => {
      for await (const batch of follower) received.push(...batch);
    })();
    await appendAll(run.id, 10, 2);
    await consumed;
    expect(seqs(received)).toEqual(range(1, 22));
  });
});
