// pnpm bench:orchestrator: synthetic runs executed by the orchestrator (tracer batching, appends
// through the repository, one terminal event), next to raw pg appending the same number of events
// in batches of the same size with the same statement, on the same database in the same run.
import { createGraphCatalog, createRun } from '@runstream/graph-catalog';
import { builtInGraphs } from '@runstream/graphs';
import { type RunWorker, createGraphRegistry, createRunWorker } from '@runstream/orchestrator';
import {
  createDatabase,
  createGraphRegistryRepo,
  createOutboxWakeup,
  createRunEventRepo,
  createRunLeaseRepo,
  createRunRepo,
} from '@runstream/persistence';
import pg from 'pg';

import { benchDatabase, printTable, type Row } from './lib.js';

const quick = process.argv.includes('--quick');
const BIG_RUN = quick ? 20_000 : 100_000;
const CONCURRENT_RUNS = 100;
const EVENTS_PER_RUN = 1000;
/** The tracer's default batch size; the raw reference appends in batches of the same size. */
const BATCH = 256;
const POOL = 16;

const bench = await benchDatabase();
const db = createDatabase({
  url: bench.url,
  poolSize: POOL,
  applicationName: 'bench-orchestrator',
});
const runs = createRunRepo(db);
const leases = createRunLeaseRepo(db);
const events = createRunEventRepo(db);
const graphs = createGraphRegistryRepo(db);
const registry = createGraphRegistry(builtInGraphs);
// As a worker does at start, so that runs can be created before the workers of each measure start.
await graphs.register(registry.registrations(), { liveForMs: 3_600_000 });
const catalog = createGraphCatalog({ registry: graphs });
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

// The repository's append statement, written out so that raw pg runs exactly the same SQL.
const RAW_APPEND = `
WITH run AS (
  UPDATE runs SET next_seq = next_seq + $3::int, updated_at = now()
   WHERE id = $1::uuid AND finished_at IS NULL
  RETURNING next_seq - $3::int AS first_seq
), event AS (
  INSERT INTO run_events (run_id, seq, type, data, terminal)
  SELECT $1::uuid, run.first_seq + e.ord::int - 1, e.value->>'type', e.value->'data', false
    FROM run, jsonb_array_elements($2::jsonb) WITH ORDINALITY AS e(value, ord)
  RETURNING run_id, seq
), outbox AS (
  INSERT INTO run_outbox (run_id, seq) SELECT run_id, seq FROM event
)
SELECT first_seq FROM run`;

async function newRun(input: Record<string, unknown>): Promise<string> {
  const { run } = await createRun(
    { runs, catalog },
    { tenant: 'bench', graph: 'synthetic', input },
  );
  return run.id;
}

/** Raw pg: `n` events into one run in batches of BATCH, on one connection. */
async function rawAppend(
  client: pg.Client | pg.PoolClient,
  runId: string,
  n: number,
): Promise<void> {
  for (let done = 0; done < n; done += BATCH) {
    const size = Math.min(BATCH, n - done);
    const batch = Array.from({ length: size }, (_, i) => ({
      type: 'synthetic.tick',
      data: { index: done + i + 1 },
    }));
    await client.query(RAW_APPEND, [runId, JSON.stringify(batch), size]);
  }
}

function startWorker(concurrency: number): RunWorker {
  const worker = createRunWorker(
    { leases, events, graphs, wakeup: createOutboxWakeup(db.pool), registry, logger: quiet },
    { concurrency, pollMs: 5, cancelPollMs: 250, leaseMs: 60_000 },
  );
  worker.start();
  return worker;
}

async function waitAllEnded(ids: readonly string[]): Promise<void> {
  for (;;) {
    const { rows } = await db.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM runs WHERE id = ANY($1::uuid[]) AND finished_at IS NULL',
      [ids],
    );
    if (rows[0]!.n === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await fn();
  return (performance.now() - start) / 1000;
}

// 1. One synthetic run of BIG_RUN events, one worker slot, against raw pg on one connection.
const raw = new pg.Client({ connectionString: bench.url, application_name: 'bench-raw' });
await raw.connect();
const rawRun = await newRun({ events: 1 });
const rawBigSeconds = await timed(() => rawAppend(raw, rawRun, BIG_RUN));

const single = startWorker(1);
const bigRun = await newRun({ events: BIG_RUN });
const bigSeconds = await timed(() => waitAllEnded([bigRun]));
await single.stop({ drainMs: 0 });

// 2. CONCURRENT_RUNS synthetic runs of EVENTS_PER_RUN events at once, against raw pg appending the
//    same runs' events on as many connections as the orchestrator's pool.
const rawRuns = await Promise.all(
  Array.from({ length: CONCURRENT_RUNS }, () => newRun({ events: 1 })),
);
const rawPool = new pg.Pool({
  connectionString: bench.url,
  max: POOL,
  application_name: 'bench-raw-pool',
});
const rawManySeconds = await timed(async () => {
  await Promise.all(
    rawRuns.map(async (runId) => {
      const client = await rawPool.connect();
      try {
        await rawAppend(client, runId, EVENTS_PER_RUN);
      } finally {
        client.release();
      }
    }),
  );
});
await rawPool.end();

const manyIds = await Promise.all(
  Array.from({ length: CONCURRENT_RUNS }, () => newRun({ events: EVENTS_PER_RUN })),
);
const many = startWorker(CONCURRENT_RUNS);
const manySeconds = await timed(() => waitAllEnded(manyIds));
await many.stop({ drainMs: 0 });

// Each orchestrated run also writes run.started and its terminal event.
const bigEvents = BIG_RUN + 2;
const manyEvents = CONCURRENT_RUNS * (EVENTS_PER_RUN + 2);
const rows: Row[] = [
  {
    name: `1 synthetic run of ${BIG_RUN.toLocaleString('en-US')} events (orchestrator)`,
    value: bigEvents / bigSeconds,
    unit: 'events/s',
    reference: {
      name: `raw pg batch append (${BATCH}/statement, 1 connection)`,
      value: BIG_RUN / rawBigSeconds,
    },
  },
  {
    name: `${CONCURRENT_RUNS} concurrent runs x ${EVENTS_PER_RUN.toLocaleString('en-US')} events (orchestrator, pool ${POOL})`,
    value: manyEvents / manySeconds,
    unit: 'events/s',
    reference: {
      name: `raw pg batch append (${BATCH}/statement, ${POOL} connections)`,
      value: (CONCURRENT_RUNS * EVENTS_PER_RUN) / rawManySeconds,
    },
  },
];
printTable(
  'orchestrator (one pass each; events persisted per second, all in one transaction per batch)',
  rows,
);

await raw.end();
await db.close();
await bench.close();
