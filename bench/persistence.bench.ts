// pnpm bench:persistence: the append and replay hot paths against raw pg doing the same statements
// (prepared once per connection, as the repository does) on the same database in the same run, and
// against raw autocommit INSERTs of the same event rows (the floors). The floor's table has
// run_events' key, (run_id, seq): a store of events without it would not be an event log, and an
// INSERT that maintains no index at all measures less work than any append can do. Its statements
// are named (prepared once), as the repository's are. The old keyless floor is kept for comparison.
import { runQueuedEvent } from '@runstream/events';
import { createDatabase, createRunEventRepo, createRunRepo } from '@runstream/persistence';
import { APPEND_EVENTS, READ_EVENTS } from '@runstream/persistence/sql';
import pg from 'pg';

import { benchDatabase, median, opsPerSecond, printTable, type Row } from './lib.js';

const quick = process.argv.includes('--quick');
const ROUND_MS = quick ? 1000 : 3000;
const ROUNDS = quick ? 1 : 3;

const bench = await benchDatabase();
const db = createDatabase({ url: bench.url, poolSize: 1, applicationName: 'bench-repo' });
const raw = new pg.Client({ connectionString: bench.url, application_name: 'bench-raw' });
await raw.connect();
const runs = createRunRepo(db);
const events = createRunEventRepo(db);

async function newRun(): Promise<string> {
  const { run } = await runs.create({
    tenant: 'bench',
    graph: 'synthetic',
    input: {},
    firstEvent: runQueuedEvent('synthetic'),
  });
  return run.id;
}

const payload = { text: 'x'.repeat(64) };
const one = [{ type: 'text.delta' as const, data: payload }];
const hundred = Array.from({ length: 100 }, (_, i) => ({
  type: 'text.delta' as const,
  data: { ...payload, node: String(i) },
}));
await raw.query('CREATE TABLE bench_floor (run_id uuid, seq int, type text, data jsonb)');
await raw.query(
  'CREATE TABLE bench_keyed_floor (run_id uuid, seq int, type text, data jsonb, PRIMARY KEY (run_id, seq))',
);

/** Interleaves the contenders round by round so that machine noise hits them alike. */
async function compare(
  cases: Record<string, () => Promise<unknown>>,
): Promise<Record<string, number>> {
  const samples: Record<string, number[]> = Object.fromEntries(
    Object.keys(cases).map((k) => [k, []]),
  );
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, op] of Object.entries(cases))
      samples[name]!.push(await opsPerSecond(op, ROUND_MS));
  }
  return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
}

const repoRun = await newRun();
const rawRun = await newRun();
let floorSeq = 0;
const single = await compare({
  repo: () => events.append(repoRun, one),
  raw: () =>
    raw.query({
      name: 'append',
      text: APPEND_EVENTS.text,
      values: [rawRun, JSON.stringify(one), 1, null, null, null, null, null],
    }),
  floor: () =>
    raw.query({
      name: 'floor1',
      text: 'INSERT INTO bench_keyed_floor (run_id, seq, type, data) VALUES ($1, $2, $3, $4)',
      values: [rawRun, ++floorSeq, 'text.delta', payload],
    }),
  keyless: () =>
    raw.query({
      name: 'keyless1',
      text: 'INSERT INTO bench_floor (run_id, seq, type, data) VALUES ($1, $2, $3, $4)',
      values: [rawRun, floorSeq, 'text.delta', payload],
    }),
});

const floorValues = Array.from(
  { length: 100 },
  (_, i) => `($1, $${i * 3 + 2}, $${i * 3 + 3}, $${i * 3 + 4})`,
).join(', ');
const batch = await compare({
  repo: () => events.append(repoRun, hundred),
  raw: () =>
    raw.query({
      name: 'append',
      text: APPEND_EVENTS.text,
      values: [rawRun, JSON.stringify(hundred), 100, null, null, null, null, null],
    }),
  floor: () =>
    raw.query({
      name: 'floor100',
      text: `INSERT INTO bench_keyed_floor (run_id, seq, type, data) VALUES ${floorValues}`,
      values: [rawRun, ...hundred.flatMap((e) => [++floorSeq, e.type, JSON.stringify(e.data)])],
    }),
  keyless: () =>
    raw.query({
      name: 'keyless100',
      text: `INSERT INTO bench_floor (run_id, seq, type, data) VALUES ${floorValues}`,
      values: [rawRun, ...hundred.flatMap((e, i) => [i, e.type, JSON.stringify(e.data)])],
    }),
});

// Replay: a 100,000-event run read in pages of 1,000 by seq.
const replayRun = await newRun();
for (let i = 0; i < 100; i++) {
  await raw.query(APPEND_EVENTS.text, [
    replayRun,
    JSON.stringify(
      Array.from({ length: 1000 }, (_, k) => ({ type: 'text.delta', data: { ...payload, k } })),
    ),
    1000,
    null,
    null,
    null,
    null,
    null,
  ]);
}
async function replayAll(read: (from: number) => Promise<{ seq: number }[]>): Promise<void> {
  for (let from = 1; ;) {
    const page = await read(from);
    if (page.length === 0) return;
    from = page[page.length - 1]!.seq + 1;
  }
}
const replay = await compare({
  repo: () => replayAll((from) => events.readPage(replayRun, { fromSeq: from, limit: 1000 })),
  raw: () =>
    replayAll(
      async (from) =>
        (
          await raw.query<{ seq: number }>({
            name: 'read',
            text: READ_EVENTS.text,
            // The last parameter is the published bound: null reads committed events, as the repo does.
            values: [replayRun, from, 2_147_483_647, 1000, null],
          })
        ).rows,
    ),
});
const replayEvents = 100_001;

const rows: Row[] = [
  {
    name: 'single-event append (repo)',
    value: single.repo!,
    unit: 'appends/s',
    reference: { name: 'raw pg, same statement', value: single.raw! },
  },
  {
    name: 'single-event append (repo)',
    value: single.repo!,
    unit: 'appends/s',
    reference: { name: 'raw 1-row INSERT, keyed like run_events (floor)', value: single.floor! },
  },
  {
    name: 'single-event append (repo)',
    value: single.repo!,
    unit: 'appends/s',
    reference: { name: 'raw 1-row INSERT, no key (old floor)', value: single.keyless! },
  },
  {
    name: '100-event batch append (repo)',
    value: batch.repo! * 100,
    unit: 'events/s',
    reference: { name: 'raw pg, same statement', value: batch.raw! * 100 },
  },
  {
    name: '100-event batch append (repo)',
    value: batch.repo! * 100,
    unit: 'events/s',
    reference: {
      name: 'raw 100-row INSERT, keyed like run_events (floor)',
      value: batch.floor! * 100,
    },
  },
  {
    name: '100-event batch append (repo)',
    value: batch.repo! * 100,
    unit: 'events/s',
    reference: { name: 'raw 100-row INSERT, no key (old floor)', value: batch.keyless! * 100 },
  },
  {
    name: 'replay, pages of 1,000 (repo)',
    value: replay.repo! * replayEvents,
    unit: 'events/s',
    reference: { name: 'raw pg, same query', value: replay.raw! * replayEvents },
  },
];
printTable(`persistence (median of ${ROUNDS} x ${ROUND_MS} ms, one connection each)`, rows);

await raw.end();
await db.close();
await bench.close();
