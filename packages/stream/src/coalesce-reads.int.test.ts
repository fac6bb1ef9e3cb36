import { createMemoryBus } from '@runstream/bus';
import type { RunEventEnvelope } from '@runstream/events';
import { createDatabase, createRepositories } from '@runstream/persistence';
import { seedRun, useTestDatabase } from '@runstream/persistence/testing';
import { startTcpProxy } from '@runstream/testkit';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { coalesceReads } from './coalesce-reads.js';
import { followRun } from './follow-run.js';

const testDb = useTestDatabase({ beforeAll, afterAll });
const repos = testDb.repos;

/** One way of the slow link between the followers and PostgreSQL. */
const LATENCY_MS = 1000;

describe('coalesceReads', () => {
  it('A5: a follower never joins a read that began before it learned of the event it needs', async () => {
    // The followers read through a slow link, on one connection; the writer is direct.
    const proxy = await startTcpProxy({ targetPort: Number(new URL(testDb.url).port) });
    const slow = createDatabase({
      url: proxy.url(testDb.url),
      poolSize: 1,
      applicationName: 'a5-reads',
    });
    const controller = new AbortController();
    let b: AsyncIterator<RunEventEnvelope[]> | undefined;
    try {
      const reads = coalesceReads(createRepositories(slow).events);
      const bus = createMemoryBus();
      const run = await seedRun(repos);
      const pointer = (seq: number) => bus.publish([{ source: 'outbox', runId: run.id, seq }]);
      const follow = () =>
        followRun(
          { bus, events: reads },
          { runId: run.id, afterSeq: 0, signal: controller.signal, replay: 'committed' },
        );

      // A consumes as fast as events come; B is a stream whose client is busy until resumed.
      const a: number[] = [];
      const consumingA = (async () => {
        for await (const batch of follow()) a.push(...batch.map((e) => e.seq));
      })();
      const bIterator = follow()[Symbol.asyncIterator]();
      b = bIterator;
      const bGot: number[] = [];
      const nextOfB = async () => {
        let timer: NodeJS.Timeout | undefined;
        const idle = new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(new Error(`B idles at ${bGot.join(',')} without the event it was told of`)),
            4 * LATENCY_MS + 2000,
          );
        });
        const { value } = await Promise.race([bIterator.next(), idle]).finally(() =>
          clearTimeout(timer),
        );
        bGot.push(...(value as RunEventEnvelope[]).map((e) => e.seq));
      };
      await nextOfB();
      await vi.waitUntil(() => a.length === 1, { timeout: 10_000, interval: 20 });
      proxy.latency(LATENCY_MS);

      // Seq 2 commits and is announced as a pointer: A starts a read; B only notes it.
      const { rows } = await testDb.db.pool.query<{ now: Date }>('SELECT clock_timestamp() AS now');
      await repos.events.append(run.id, [{ type: 'synthetic.tick', data: { index: 1 } }]);
      await pointer(2);
      // A's read has run on the server (its answer is on the slow way back) ...
      await vi.waitUntil(
        async () => {
          const activity = await testDb.db.pool.query(
            `SELECT 1 FROM pg_stat_activity
              WHERE application_name = 'a5-reads' AND state = 'idle'
                AND query LIKE '%FROM run_events%' AND state_change > $1`,
            [rows[0]!.now],
          );
          return activity.rowCount === 1;
        },
        { timeout: 10_000, interval: 10 },
      );
      // ... when seq 3 commits and is announced, and B's client reads again. B's read must not be
      // A's, which began before seq 3 existed.
      await repos.events.append(run.id, [{ type: 'synthetic.tick', data: { index: 1 } }]);
      await pointer(3);
      await nextOfB();
      // No heartbeat check anywhere in this test: without a fresh read B would idle for ever.
      while (!bGot.includes(3)) await nextOfB();
      expect(bGot).toEqual([1, 2, 3]);
      await vi.waitUntil(() => a.length === 3, { timeout: 10_000, interval: 20 });
      expect(a).toEqual([1, 2, 3]);
      controller.abort();
      await consumingA;
    } finally {
      controller.abort();
      await b?.return?.(undefined);
      await slow.close();
      await proxy.close();
    }
  });

  it('a storm: 200 streams arriving while a read of their page is in flight cost two reads, not 200, and each gets every event', async () => {
    const run = await seedRun(repos);
    for (let i = 0; i < 20; i++)
      await repos.events.append(run.id, [{ type: 'synthetic.tick', data: { index: i + 1 } }]);
    const calls: Parameters<typeof repos.events.readPage>[1][] = [];
    const reads = coalesceReads({
      readPage: (runId, options) => {
        calls.push(options);
        return repos.events.readPage(runId, options);
      },
    });
    const page = { fromSeq: 1, limit: 500, visibility: 'committed' as const };
    // The first stream starts the read; the others each learned of the run's events after it
    // began (their ticket is newer), so none may join it: they all share the next one.
    const first = reads.readPage(run.id, { ...page, freshAfter: reads.ticket() });
    const rest = Array.from({ length: 199 }, () =>
      reads.readPage(run.id, { ...page, freshAfter: reads.ticket() }),
    );
    const pages = await Promise.all([first, ...rest]);
    expect(calls).toHaveLength(2);
    for (const rows of pages) expect(rows.map((r) => r.seq)).toEqual(range(1, 22));
    // Once nothing is in flight, the next caller starts a read of its own.
    await reads.readPage(run.id, { ...page, freshAfter: reads.ticket() });
    expect(calls).toHaveLength(3);
  });

  it('the waiting read goes as far as the furthest knownPublishedSeq of those who joined it', async () => {
    const run = await seedRun(repos);
    for (let i = 0; i < 6; i++)
      await repos.events.append(run.id, [{ type: 'synthetic.tick', data: { index: i + 1 } }]);
    const calls: Parameters<typeof repos.events.readPage>[1][] = [];
    const reads = coalesceReads({
      readPage: (runId, options) => {
        calls.push(options);
        return repos.events.readPage(runId, options);
      },
    });
    // Nothing is marked published: only what the bus announced may be read.
    const page = { fromSeq: 1, limit: 500, visibility: 'published' as const };
    const a = reads.readPage(run.id, { ...page, knownPublishedSeq: 2 });
    const b = reads.readPage(run.id, { ...page, knownPublishedSeq: 5 });
    const c = reads.readPage(run.id, { ...page, knownPublishedSeq: 3 });
    const [ra, rb, rc] = await Promise.all([a, b, c]);
    expect(calls.map((o) => o?.knownPublishedSeq)).toEqual([2, 5]);
    expect(ra.map((r) => r.seq)).toEqual([1, 2]);
    expect(rb.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(rc).toBe(rb);
  });
});

const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from }, (_, i) => from + i);
