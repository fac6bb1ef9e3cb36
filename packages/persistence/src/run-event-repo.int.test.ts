import { startPostgresProxy } from '@runstream/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { NewEvent } from './run-event-repo.js';
import { createDatabase } from './database.js';
import {
  LeaseLostError,
  PersistenceError,
  RunNotFoundError,
  RunTerminalError,
  isTransientDatabaseError,
} from './errors.js';
import { createRepositories } from './repositories.js';
import { seedRun, useTestDatabase } from './testing/index.js';

/** What the claims here serve: seedRun's graph, at any version. */
const SYNTHETIC = [{ name: 'synthetic' }];

const t = useTestDatabase({ beforeAll, afterAll }, { poolSize: 12 });
const repos = t.repos;

async function seqsOf(runId: string): Promise<number[]> {
  const rows = await t.db.pool.query<{ seq: number }>(
    'SELECT seq FROM run_events WHERE run_id = $1 ORDER BY seq',
    [runId],
  );
  return rows.rows.map((r) => r.seq);
}

const delta = (i: number): NewEvent => ({ type: 'text.delta', data: { text: String(i) } });

describe('append', () => {
  it('gives 8 concurrent appenders on one run the seqs 1..N with no gap and no duplicate', async () => {
    const run = await seedRun(repos);
    const perWorker = 25;
    const results = await Promise.all(
      Array.from({ length: 8 }, async (_, w) => {
        const got: number[] = [];
        for (let i = 0; i < perWorker; i++) {
          const batch = Array.from({ length: 1 + ((w + i) % 3) }, (_, k) => delta(k));
          const r = await repos.events.append(run.id, batch);
          for (let s = r.firstSeq; s <= r.lastSeq; s++) got.push(s);
        }
        return got;
      }),
    );
    const seqs = await seqsOf(run.id);
    const n = seqs.length;
    expect(seqs).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    // Every seq the appenders were told they got is there exactly once, seq 1 being run.queued.
    expect(results.flat().sort((a, b) => a - b)).toEqual(seqs.slice(1));
    const after = await repos.runs.getById(run.id);
    expect(after.nextSeq).toBe(n + 1);
    const outbox = await t.db.pool.query(
      'SELECT count(*)::int AS n FROM run_outbox WHERE run_id = $1',
      [run.id],
    );
    expect(outbox.rows[0].n).toBe(n);
  });

  it('lets exactly one of two racing terminal appends win', async () => {
    for (let round = 0; round < 10; round++) {
      const run = await seedRun(repos);
      const outcomes = await Promise.allSettled([
        repos.events.append(run.id, [
          delta(1),
          { type: 'run.completed', data: { output: { ok: 1 } } },
        ]),
        repos.events.append(run.id, [
          { type: 'run.failed', data: { error: { code: 'X', message: 'x' } } },
        ]),
      ]);
      const won = outcomes.filter((o) => o.status === 'fulfilled');
      const lost = outcomes.filter((o) => o.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(1);
      expect((lost[0] as PromiseRejectedResult).reason).toBeInstanceOf(RunTerminalError);
      const terminal = await t.db.pool.query(
        'SELECT count(*)::int AS n FROM run_events WHERE run_id = $1 AND terminal',
        [run.id],
      );
      expect(terminal.rows[0].n).toBe(1);
      const seqs = await seqsOf(run.id);
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    }
  });

  it('sets the run status, finish time, output and error with the terminal event', async () => {
    const ok = await seedRun(repos);
    await repos.events.append(ok.id, [{ type: 'run.completed', data: { output: { answer: 42 } } }]);
    const done = await repos.runs.getById(ok.id);
    expect(done.status).toBe('succeeded');
    expect(done.finishedAt).toBeInstanceOf(Date);
    expect(done.output).toEqual({ answer: 42 });

    const bad = await seedRun(repos);
    await repos.events.append(bad.id, [
      { type: 'run.failed', data: { error: { code: 'BOOM', message: 'no' } } },
    ]);
    const failed = await repos.runs.getById(bad.id);
    expect(failed.status).toBe('failed');
    expect(failed.error).toEqual({ code: 'BOOM', message: 'no' });
  });

  it('refuses an append after the terminal event with RUN_TERMINAL and writes nothing', async () => {
    const run = await seedRun(repos);
    await repos.events.append(run.id, [{ type: 'run.cancelled', data: {} }]);
    const before = await seqsOf(run.id);
    const error = await repos.events.append(run.id, [delta(1)]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RunTerminalError);
    expect((error as RunTerminalError).code).toBe('RUN_TERMINAL');
    expect(await seqsOf(run.id)).toEqual(before);
    expect((await repos.runs.getById(run.id)).nextSeq).toBe(before.length + 1);
  });

  it('leaves nextSeq unchanged when the transaction around an append rolls back', async () => {
    const run = await seedRun(repos);
    await repos.events.append(run.id, [delta(1)]);
    const rollback = new Error('rollback on purpose');
    await expect(
      t.db.transaction(async (tx) => {
        await repos.events.append(run.id, [delta(2), delta(3)], {}, tx);
        throw rollback;
      }),
    ).rejects.toBe(rollback);
    expect((await repos.runs.getById(run.id)).nextSeq).toBe(3);
    const next = await repos.events.append(run.id, [delta(4)]);
    expect(next.firstSeq).toBe(3);
    expect(await seqsOf(run.id)).toEqual([1, 2, 3]);
  });

  it('rejects a batch with a terminal event before its end, an empty batch, and an unknown run', async () => {
    const run = await seedRun(repos);
    await expect(
      repos.events.append(run.id, [{ type: 'run.completed', data: { output: null } }, delta(1)]),
    ).rejects.toMatchObject({
      code: 'INVALID_APPEND',
    });
    await expect(repos.events.append(run.id, [])).rejects.toBeInstanceOf(PersistenceError);
    await expect(
      repos.events.append('0190f0f0-0000-7000-8000-000000000000', [delta(1)]),
    ).rejects.toBeInstanceOf(RunNotFoundError);
    await expect(repos.events.append('not-a-uuid', [delta(1)])).rejects.toBeInstanceOf(
      RunNotFoundError,
    );
    expect(await seqsOf(run.id)).toEqual([1]);
  });
});

describe('fenced appends', () => {
  /** A run claimed by `owner`, with its next seq. */
  async function leased(owner: string): Promise<{ id: string; nextSeq: number }> {
    const run = await seedRun(repos);
    await repos.leases.claimQueued(owner, { graphs: SYNTHETIC, limit: 1, leaseMs: 60_000 });
    return { id: run.id, nextSeq: (await repos.runs.getById(run.id)).nextSeq };
  }

  it('B3: a zombie worker whose lease was taken over writes nothing, not even its terminal event', async () => {
    await t.db.pool.query(`DELETE FROM runs`);
    const run = await leased('zombie');
    await repos.events.append(run.id, [delta(1)], { leaseOwner: 'zombie', expectedSeq: 2 });
    await t.db.pool.query(
      `UPDATE runs SET lease_expires_at = now() - interval '1 second' WHERE id = $1`,
      [run.id],
    );
    const [taken] = await repos.leases.takeExpiredLeases('reaper', 1, 60_000);
    expect(taken).toMatchObject({ id: run.id, lostOwner: 'zombie', nextSeq: 3 });
    const batches: NewEvent[][] = [
      [delta(2)],
      [delta(3), { type: 'run.completed', data: { output: 1 } }],
    ];
    for (const batch of batches) {
      const error = await repos.events
        .append(run.id, batch, { leaseOwner: 'zombie', expectedSeq: 3 })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LeaseLostError);
      expect(error).toMatchObject({ code: 'LEASE_LOST' });
    }
    // Without its seq either: the owner alone fences it.
    await expect(
      repos.events.append(run.id, [delta(4)], { leaseOwner: 'zombie' }),
    ).rejects.toMatchObject({ code: 'LEASE_LOST' });
    expect(await seqsOf(run.id)).toEqual([1, 2]);
    // The new holder writes, and ends the run.
    await repos.events.append(
      run.id,
      [{ type: 'run.failed', data: { error: { code: 'WORKER_LOST', message: 'lost' } } }],
      { leaseOwner: 'reaper', expectedSeq: 3 },
    );
    expect(await seqsOf(run.id)).toEqual([1, 2, 3]);
  });

  it('B3: an append whose expected seq moved (another writer appended) writes nothing', async () => {
    const run = await leased('me');
    await repos.events.append(run.id, [delta(1)]);
    await expect(
      repos.events.append(run.id, [delta(2)], { leaseOwner: 'me', expectedSeq: 2 }),
    ).rejects.toBeInstanceOf(LeaseLostError);
    expect(await seqsOf(run.id)).toEqual([1, 2]);
  });

  it('B3: an append retried after its connection was reset past the commit is written once', async () => {
    const run = await leased('me');
    const proxy = await startPostgresProxy(t.url);
    const db = createDatabase({ url: proxy.url, poolSize: 2 });
    try {
      const proxied = createRepositories(db);
      const batch: NewEvent[] = [
        delta(1),
        delta(2),
        { type: 'run.completed', data: { output: { n: 2 } } },
      ];
      const fence = { leaseOwner: 'me', expectedSeq: run.nextSeq };
      const reset = proxy.resetAfterCommit('runstream_append_events');
      const first = await proxied.events.append(run.id, batch, fence).catch((e: unknown) => e);
      await reset;
      // The server committed, the client saw its connection die: a transient, ambiguous failure.
      expect(first).toBeInstanceOf(Error);
      expect(isTransientDatabaseError(first)).toBe(true);
      expect(await seqsOf(run.id)).toEqual([1, 2, 3, 4]);
      const retried = await proxied.events.append(run.id, batch, fence);
      expect(retried).toMatchObject({ firstSeq: 2, lastSeq: 4 });
      expect(await seqsOf(run.id)).toEqual([1, 2, 3, 4]);
      const outbox = await t.db.pool.query(
        'SELECT count(*)::int AS n FROM run_outbox WHERE run_id = $1',
        [run.id],
      );
      expect(outbox.rows[0].n).toBe(4);
      expect((await repos.runs.getById(run.id)).status).toBe('succeeded');
    } finally {
      await db.close();
      await proxy.close();
    }
  });

  it('A4: stores U+0000 and lone surrogates in data (keys too) and in the output as U+FFFD', async () => {
    const run = await seedRun(repos);
    // Data outside the catalogue's shape (a key of its own) shows keys are cleaned too.
    const data = { text: 'a\u0000b \ud83d', ['k\u0000']: '\ude00' };
    await repos.events.append(run.id, [
      { type: 'text.delta', data },
      { type: 'run.completed', data: { output: { text: 'x\u0000' } } },
    ]);
    const { rows } = await t.db.pool.query<{ data: Record<string, unknown> }>(
      'SELECT data FROM run_events WHERE run_id = $1 AND seq = 2',
      [run.id],
    );
    expect(rows[0]!.data).toEqual({ text: 'a\uFFFDb \uFFFD', ['k\uFFFD']: '\uFFFD' });
    expect((await repos.runs.getById(run.id)).output).toEqual({ text: 'x\uFFFD' });
  });
});

describe('readPage', () => {
  it('reads a run in pages by seq', async () => {
    const run = await seedRun(repos);
    await repos.events.append(
      run.id,
      Array.from({ length: 249 }, (_, i) => delta(i)),
    );
    const seen: number[] = [];
    for (let from = 1; ;) {
      const page = await repos.events.readPage(run.id, { fromSeq: from, limit: 100 });
      if (page.length === 0) break;
      seen.push(...page.map((e) => e.seq));
      from = page.at(-1)!.seq + 1;
    }
    expect(seen).toEqual(Array.from({ length: 250 }, (_, i) => i + 1));
    const bounded = await repos.events.readPage(run.id, { fromSeq: 10, toSeq: 12 });
    expect(bounded.map((e) => e.seq)).toEqual([10, 11, 12]);
    expect(bounded[0]).toMatchObject({ runId: run.id, type: 'text.delta', data: { text: '8' } });
  });

  it('B7: with maxBytes a page ends once its data reaches the bound, and holds at least one event', async () => {
    const run = await seedRun(repos);
    const pad = 'x'.repeat(10_000);
    await repos.events.append(
      run.id,
      Array.from({ length: 20 }, (_, i): NewEvent => ({
        type: 'text.delta',
        data: { node: String(i), text: pad },
      })),
    );
    const bytes = (rows: { data: unknown }[]) =>
      rows.reduce((sum, row) => sum + JSON.stringify(row.data).length, 0);
    const page = await repos.events.readPage(run.id, { fromSeq: 2, maxBytes: 35_000 });
    // Each data is ~10 KB: three stay under 35 KB, the fourth reaches it and ends the page.
    expect(page.map((e) => e.seq)).toEqual([2, 3, 4, 5]);
    expect(bytes(page.slice(0, -1))).toBeLessThan(35_000);
    const one = await repos.events.readPage(run.id, { fromSeq: 2, maxBytes: 1 });
    expect(one.map((e) => e.seq)).toEqual([2]);
    const seen: number[] = [];
    for (let from = 1; ;) {
      const next = await repos.events.readPage(run.id, { fromSeq: from, maxBytes: 25_000 });
      if (next.length === 0) break;
      seen.push(...next.map((e) => e.seq));
      from = next.at(-1)!.seq + 1;
    }
    expect(seen).toEqual(Array.from({ length: 21 }, (_, i) => i + 1));
  });

  it("with published visibility reads only up to the run's published mark, or to a seq the bus announced", async () => {
    const run = await seedRun(repos);
    await repos.events.append(
      run.id,
      Array.from({ length: 4 }, (_, i) => delta(i)),
    );
    const seqs = async (options: Parameters<typeof repos.events.readPage>[1]) =>
      (await repos.events.readPage(run.id, options)).map((e) => e.seq);
    expect(await seqs({ visibility: 'published' })).toEqual([]);
    await t.db.transaction((tx) => repos.outbox.markPublished(tx, [{ runId: run.id, upToSeq: 2 }]));
    expect(await seqs({ visibility: 'published' })).toEqual([1, 2]);
    expect(await seqs({ visibility: 'published', fromSeq: 2, limit: 5 })).toEqual([2]);
    // The bus announced seq 4: the outbox published it, its mark may still be on its way.
    expect(await seqs({ visibility: 'published', knownPublishedSeq: 4 })).toEqual([1, 2, 3, 4]);
    // An announcement never shows more than is committed.
    expect(await seqs({ visibility: 'published', knownPublishedSeq: 99 })).toEqual([1, 2, 3, 4, 5]);
    expect(await seqs({ visibility: 'committed' })).toEqual([1, 2, 3, 4, 5]);
    expect(await seqs({})).toEqual([1, 2, 3, 4, 5]);
  });

  it('A9: a page that starts past the largest seq (2^31 - 1) is empty, never an integer overflow', async () => {
    const run = await seedRun(repos);
    expect(await repos.events.readPage(run.id, { fromSeq: 2_147_483_647 })).toEqual([]);
    expect(await repos.events.readPage(run.id, { fromSeq: 2_147_483_648 })).toEqual([]);
    expect(await repos.events.readPage(run.id, { fromSeq: 5, toSeq: 2_147_483_648 })).toEqual([]);
    expect(await repos.events.readPage(run.id, { toSeq: 2_147_483_648 })).toHaveLength(1);
  });
});

describe('the database itself', () => {
  it('refuses a raw insert of a duplicate seq', async () => {
    const run = await seedRun(repos);
    await expect(
      t.db.pool.query(
        `INSERT INTO run_events (run_id, seq, type, data) VALUES ($1, 1, 'x', '{}')`,
        [run.id],
      ),
    ).rejects.toMatchObject({ code: '23505', constraint: 'run_events_pkey' });
  });

  it('refuses a raw insert of a second terminal event', async () => {
    const run = await seedRun(repos);
    await repos.events.append(run.id, [{ type: 'run.completed', data: { output: null } }]);
    // Make room in next_seq so that only the one-terminal rule can refuse it.
    await t.db.pool.query('UPDATE runs SET next_seq = next_seq + 1 WHERE id = $1', [run.id]);
    await expect(
      t.db.pool.query(
        `INSERT INTO run_events (run_id, seq, type, data, terminal) VALUES ($1, 3, 'run.failed', '{}', true)`,
        [run.id],
      ),
    ).rejects.toMatchObject({ code: '23505', constraint: 'run_events_one_terminal' });
  });

  it('refuses a raw insert of any event after the terminal one', async () => {
    const run = await seedRun(repos);
    await repos.events.append(run.id, [{ type: 'run.completed', data: { output: null } }]);
    await t.db.pool.query('UPDATE runs SET next_seq = next_seq + 1 WHERE id = $1', [run.id]);
    await expect(
      t.db.pool.query(
        `INSERT INTO run_events (run_id, seq, type, data) VALUES ($1, 3, 'text.delta', '{}')`,
        [run.id],
      ),
    ).rejects.toMatchObject({ code: '23514', constraint: 'run_events_terminal_last' });
  });

  it('A10: refuses a raw insert that leaves a seq gap (next_seq bumped by 5, seq 5 alone)', async () => {
    const run = await seedRun(repos);
    await t.db.pool.query('UPDATE runs SET next_seq = next_seq + 5 WHERE id = $1', [run.id]);
    for (const seqs of [[5], [6], [2], [2, 3, 5, 6]]) {
      await expect(
        t.db.pool.query(
          `INSERT INTO run_events (run_id, seq, type, data) SELECT $1, s, 'text.delta', '{}' FROM unnest($2::int[]) s`,
          [run.id, seqs],
        ),
      ).rejects.toMatchObject({ code: '23514', constraint: 'run_events_gapless' });
    }
    expect(await seqsOf(run.id)).toEqual([1]);
  });

  it('A10: refuses a raw insert of run.completed with terminal = false', async () => {
    const run = await seedRun(repos);
    await t.db.pool.query('UPDATE runs SET next_seq = next_seq + 2 WHERE id = $1', [run.id]);
    await expect(
      t.db.pool.query(
        `INSERT INTO run_events (run_id, seq, type, data, terminal) VALUES ($1, 2, 'run.completed', '{}', false)`,
        [run.id],
      ),
    ).rejects.toMatchObject({ code: '23514', constraint: 'run_events_terminal_type' });
    await expect(
      t.db.pool.query(
        `INSERT INTO run_events (run_id, seq, type, data, terminal) VALUES ($1, 2, 'text.delta', '{}', true)`,
        [run.id],
      ),
    ).rejects.toMatchObject({ code: '23514', constraint: 'run_events_terminal_type' });
  });

  it('A10: refuses a raw terminal event whose run is not finished in the matching status', async () => {
    const run = await seedRun(repos);
    await t.db.pool.query('UPDATE runs SET next_seq = next_seq + 1 WHERE id = $1', [run.id]);
    const insertCompleted = `INSERT INTO run_events (run_id, seq, type, data, terminal) VALUES ($1, 2, 'run.completed', '{}', true)`;
    await expect(t.db.pool.query(insertCompleted, [run.id])).rejects.toMatchObject({
      code: '23514',
      constraint: 'run_events_terminal_finishes_run',
    });
    await t.db.pool.query(`UPDATE runs SET status = 'failed', finished_at = now() WHERE id = $1`, [
      run.id,
    ]);
    await expect(t.db.pool.query(insertCompleted, [run.id])).rejects.toMatchObject({
      constraint: 'run_events_terminal_finishes_run',
    });
    expect(await seqsOf(run.id)).toEqual([1]);
  });

  it('refuses a raw insert of a seq that next_seq never allocated', async () => {
    const run = await seedRun(repos);
    await expect(
      t.db.pool.query(
        `INSERT INTO run_events (run_id, seq, type, data) VALUES ($1, 2, 'text.delta', '{}')`,
        [run.id],
      ),
    ).rejects.toMatchObject({ code: '23514', constraint: 'run_events_seq_allocated' });
  });
});
