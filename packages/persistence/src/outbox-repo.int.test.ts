import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { NewEvent } from './run-event-repo.js';
import { seedRun, useTestDatabase } from './testing/index.js';

const t = useTestDatabase({ beforeAll, afterAll }, { poolSize: 12 });
const repos = t.repos;

const delta = (i: number): NewEvent => ({ type: 'text.delta', data: { text: String(i) } });

async function runWithEvents(n: number): Promise<string> {
  const run = await seedRun(repos);
  if (n > 1)
    await repos.events.append(
      run.id,
      Array.from({ length: n - 1 }, (_, i) => delta(i)),
    );
  return run.id;
}

/** Leaves only these runs unpublished, so that each test sees its own. */
async function publishEverything(): Promise<void> {
  await t.db.pool.query('UPDATE run_outbox SET published_at = now() WHERE published_at IS NULL');
  await t.db.pool.query('UPDATE run_outbox SET parked_at = NULL WHERE parked_at IS NOT NULL');
}

async function publishedSeq(runId: string): Promise<number> {
  const { rows } = await t.db.pool.query<{ published_seq: number }>(
    'SELECT published_seq FROM runs WHERE id = $1',
    [runId],
  );
  return rows[0]!.published_seq;
}

describe("a run's published mark", () => {
  it('I4: moves forward only with each mark, and can never pass the last seq of its run', async () => {
    const run = await runWithEvents(6);
    expect(await publishedSeq(run)).toBe(0);
    await t.db.transaction((tx) => repos.outbox.markPublished(tx, [{ runId: run, upToSeq: 4 }]));
    expect(await publishedSeq(run)).toBe(4);
    // A late replica that marks less (its claim was older) never moves it back.
    await t.db.transaction((tx) => repos.outbox.markPublished(tx, [{ runId: run, upToSeq: 2 }]));
    expect(await publishedSeq(run)).toBe(4);
    await expect(
      t.db.pool.query('UPDATE runs SET published_seq = next_seq WHERE id = $1', [run]),
    ).rejects.toMatchObject({ code: '23514' });
  });

  it('is marked and committed in one round trip, which leaves the connection out of the transaction', async () => {
    await publishEverything();
    const run = await runWithEvents(3);
    const client = await t.db.pool.connect();
    try {
      const claimed = await repos.outbox.beginAndClaim(client, { maxRuns: 10 });
      expect(claimed.map((c) => c.runId)).toEqual([run]);
      expect(client.getTransactionStatus()).toBe('T');
      expect(await repos.outbox.markPublishedAndCommit(client, [{ runId: run, upToSeq: 3 }])).toBe(
        3,
      );
      expect(client.getTransactionStatus()).toBe('I');
    } finally {
      client.release();
    }
    expect(await publishedSeq(run)).toBe(3);
    const { rows } = await t.db.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM run_outbox WHERE run_id = $1 AND published_at IS NULL',
      [run],
    );
    expect(rows[0]!.n).toBe(0);
  });
});

describe('outbox claim', () => {
  it("returns each claimed run's next unpublished events in seq order, at most maxEventsPerRun", async () => {
    await publishEverything();
    const a = await runWithEvents(7);
    const b = await runWithEvents(3);
    const claimed = await t.db.transaction((tx) =>
      repos.outbox.claim(tx, { maxRuns: 10, maxEventsPerRun: 5 }),
    );
    const byRun = new Map(claimed.map((c) => [c.runId, c.events.map((e) => e.seq)]));
    expect(byRun.get(a)).toEqual([1, 2, 3, 4, 5]);
    expect(byRun.get(b)).toEqual([1, 2, 3]);
    await t.db.transaction(async (tx) => {
      const again = await repos.outbox.claim(tx, { maxRuns: 10 });
      expect(await repos.outbox.markPublished(tx, [{ runId: a, upToSeq: 5 }])).toBe(5);
      expect(again.length).toBe(2);
    });
    const next = await t.db.transaction((tx) => repos.outbox.claim(tx, { maxRuns: 10 }));
    expect(next.find((c) => c.runId === a)?.events.map((e) => e.seq)).toEqual([6, 7]);
    expect(await publishedSeq(a)).toBe(5);
  });

  it("two concurrent claimers never hold the same run's outbox rows", async () => {
    await publishEverything();
    const runIds = await Promise.all(Array.from({ length: 30 }, () => runWithEvents(40)));
    const held = new Set<string>();
    const published = new Map<string, number>(runIds.map((id) => [id, 0]));
    let overlaps = 0;
    let claims = 0;
    const claimer = async (): Promise<void> => {
      for (;;) {
        const done = await t.db.transaction(async (tx) => {
          const claimed = await repos.outbox.claim(tx, { maxRuns: 4, maxEventsPerRun: 7 });
          if (claimed.length === 0) return true;
          claims++;
          for (const c of claimed) {
            if (held.has(c.runId)) overlaps++;
            held.add(c.runId);
            // I4: a claim starts right after what was published, and moves forward in order.
            expect(c.events[0]!.seq).toBe(published.get(c.runId)! + 1);
            expect(c.events.map((e) => e.seq)).toEqual(
              c.events.map((_, i) => c.events[0]!.seq + i),
            );
          }
          // Hold the claim across a few event-loop turns, so that the other claimer runs meanwhile.
          await new Promise((resolve) => setImmediate(resolve));
          await repos.outbox.markPublished(
            tx,
            claimed.map((c) => ({ runId: c.runId, upToSeq: c.events[c.events.length - 1]!.seq })),
          );
          for (const c of claimed) {
            published.set(c.runId, c.events[c.events.length - 1]!.seq);
            held.delete(c.runId);
          }
          return false;
        });
        if (done) return;
      }
    };
    await Promise.all([claimer(), claimer()]);
    expect(overlaps).toBe(0);
    expect(claims).toBeGreaterThan(2);
    expect([...published.values()]).toEqual(runIds.map(() => 40));
    const { rows } = await t.db.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM run_outbox WHERE published_at IS NULL AND run_id = ANY($1::uuid[])',
      [runIds],
    );
    expect(rows[0]!.n).toBe(0);
  });

  it('skips a run whose head row another transaction holds', async () => {
    await publishEverything();
    const held = await runWithEvents(3);
    const free = await runWithEvents(3);
    const blocker = await t.db.pool.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('SELECT 1 FROM run_outbox WHERE run_id = $1 AND seq = 1 FOR UPDATE', [
        held,
      ]);
      const claimed = await t.db.transaction((tx) => repos.outbox.claim(tx));
      expect(claimed.map((c) => c.runId)).toEqual([free]);
    } finally {
      await blocker.query('ROLLBACK');
      blocker.release();
    }
  });
});

describe('outbox claim bounds and orphans', () => {
  /** A run with `n` events after its first, each with about `bytes` bytes of data. */
  async function runWithSizedEvents(n: number, bytes: number): Promise<string> {
    const run = await seedRun(repos);
    await repos.events.append(
      run.id,
      Array.from({ length: n }, (_, i): NewEvent => ({
        type: 'text.delta',
        data: { node: String(i), text: 'x'.repeat(bytes) },
      })),
    );
    return run.id;
  }

  it('A3: bounds a claim by the bytes of its event data, round robin across runs, always at least one event per run', async () => {
    await publishEverything();
    const a = await runWithSizedEvents(20, 1000);
    const b = await runWithSizedEvents(20, 1000);
    const c = await runWithSizedEvents(1, 50_000);
    // c's head is its large event.
    await t.db.pool.query(
      'UPDATE run_outbox SET published_at = now() WHERE run_id = $1 AND seq = 1',
      [c],
    );
    const claimed = await t.db.transaction((tx) =>
      repos.outbox.claim(tx, { maxRuns: 10, maxEventsPerRun: 100, maxBytes: 8000 }),
    );
    const byRun = new Map(claimed.map((r) => [r.runId, r.events.map((e) => e.seq)]));
    const bytes = (runId: string) =>
      claimed
        .find((r) => r.runId === runId)!
        .events.reduce((n, e) => n + Buffer.byteLength(JSON.stringify(e.data)), 0);
    // Each run's claim is a prefix from its head: no seq is ever skipped.
    for (const seqs of byRun.values()) expect(seqs).toEqual(seqs.map((_, i) => seqs[0]! + i));
    // The head event of every run comes whatever its size; the rest only while the budget lasts,
    // shared round robin so one deep run cannot take it all.
    expect(byRun.get(c)).toEqual([2]);
    expect(byRun.get(a)!.length).toBeGreaterThan(2);
    expect(Math.abs(byRun.get(a)!.length - byRun.get(b)!.length)).toBeLessThanOrEqual(1);
    // Beyond the head events (about 100 bytes here), the budget holds to within one event.
    expect(bytes(a) + bytes(b)).toBeLessThan(8000 + 200 + 1100);
    // With no byte budget left, a claim still moves: one event per run.
    const minimal = await t.db.transaction((tx) =>
      repos.outbox.claim(tx, { maxRuns: 10, maxEventsPerRun: 100, maxBytes: 0 }),
    );
    expect(new Map(minimal.map((r) => [r.runId, r.events.map((e) => e.seq)]))).toEqual(
      new Map([
        [a, [1]],
        [b, [1]],
        [c, [2]],
      ]),
    );
  });

  it('B4: a head outbox row whose event is missing is claimed and reported, never silently held', async () => {
    await publishEverything();
    const orphaned = await runWithEvents(3);
    const healthy = await runWithEvents(2);
    // The outbox references the run only (migration 20261126020000): a writer outside the
    // append can leave a row whose event does not exist. Seq 2's event goes missing here.
    await t.db.pool.query('DELETE FROM run_events WHERE run_id = $1 AND seq = 2', [orphaned]);
    const claimed = await t.db.transaction((tx) => repos.outbox.claim(tx, { maxRuns: 10 }));
    const byRun = new Map(claimed.map((r) => [r.runId, r]));
    // The valid prefix is there; the run stops at the missing event (nothing after it is claimed).
    expect(byRun.get(orphaned)?.events.map((e) => e.seq)).toEqual([1]);
    expect(byRun.get(orphaned)?.missingSeq).toBe(2);
    expect(byRun.get(healthy)?.events.map((e) => e.seq)).toEqual([1, 2]);
    expect(byRun.get(healthy)?.missingSeq).toBeUndefined();
    // An orphan at the head: the run is claimed with no event, so the worker can park it.
    await t.db.pool.query(
      'UPDATE run_outbox SET published_at = now() WHERE run_id = $1 AND seq = 1',
      [orphaned],
    );
    const head = await t.db.transaction((tx) => repos.outbox.claim(tx, { maxRuns: 10 }));
    expect(head.find((r) => r.runId === orphaned)).toEqual({
      runId: orphaned,
      events: [],
      missingSeq: 2,
    });
  });
});

describe('outbox failures, lag and retention', () => {
  it('parks a run after maxAttempts failures; claim skips it, lag ignores it, unpark puts it back', async () => {
    await publishEverything();
    const poison = await runWithEvents(4);
    for (let i = 1; i <= 3; i++) {
      expect(await repos.outbox.recordFailure(poison, `boom ${i}`, 3)).toBe(i === 3);
    }
    expect(await repos.outbox.parkedRuns()).toBe(1);
    expect(await repos.outbox.lagSeconds()).toBe(0);
    expect(await t.db.transaction((tx) => repos.outbox.claim(tx))).toEqual([]);
    const { rows } = await t.db.pool.query<{ attempts: number; last_error: string }>(
      'SELECT attempts, last_error FROM run_outbox WHERE run_id = $1 AND seq = 1',
      [poison],
    );
    expect(rows[0]).toEqual({ attempts: 3, last_error: 'boom 3' });
    expect(await repos.outbox.listParked()).toEqual([
      { runId: poison, seq: 1, attempts: 3, lastError: 'boom 3', parkedAt: expect.any(Date) },
    ]);
    expect(await repos.outbox.unpark(poison)).toBe(1);
    expect(await repos.outbox.listParked()).toEqual([]);
    expect(await repos.outbox.parkedRuns()).toBe(0);
    expect(await repos.outbox.lagSeconds()).toBeGreaterThan(0);
    const claimed = await t.db.transaction((tx) => repos.outbox.claim(tx));
    expect(claimed.map((c) => c.runId)).toEqual([poison]);
  });

  it('unparks every parked run at once', async () => {
    await publishEverything();
    const runs = [await runWithEvents(2), await runWithEvents(2)];
    for (const id of runs) await repos.outbox.recordFailure(id, 'boom', 1);
    expect((await repos.outbox.listParked()).map((p) => p.runId).sort()).toEqual(runs.sort());
    expect(await repos.outbox.unparkAll()).toBe(2);
    expect(await repos.outbox.listParked()).toEqual([]);
    expect(await repos.outbox.unparkAll()).toBe(0);
  });

  it('deletes only rows published before the cut-off, at most a batch at a time', async () => {
    await publishEverything();
    const { rows: before } = await t.db.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM run_outbox',
    );
    const fresh = await runWithEvents(5);
    await t.db.pool.query(
      `UPDATE run_outbox SET published_at = now() - interval '2 hours' WHERE run_id <> $1`,
      [fresh],
    );
    const cutoff = new Date(Date.now() - 3600_000);
    expect(await repos.outbox.deletePublished(cutoff, 7)).toBe(7);
    let total = 7;
    for (let n = 7; n === 7; total += n) n = await repos.outbox.deletePublished(cutoff, 7);
    expect(total).toBe(before[0]!.n);
    const { rows } = await t.db.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM run_outbox',
    );
    expect(rows[0]!.n).toBe(5);
    // The events themselves stay: retention trims the outbox, never the log.
    const events = await repos.events.readPage(fresh);
    expect(events).toHaveLength(5);
  });
});
