// pnpm bench:latency: latency when quiet, from the outside, as a user sees it. The api, the outbox
// worker and the run-worker run as separate processes on a PostgreSQL of their own with the
// postgres bus (the fault suite's harness), and:
//
// 1. the tracer's hold: how long an event emitted on a quiet run waits before its append starts
//    (in this process, on the same database: the one hop a process boundary hides);
// 2. the timeline of single events through every process: one quiet run (an event every 50 ms),
//    each event stamped at every hop: its `at` (the append statement's now()), its commit
//    (track_commit_timestamp), the outbox wake-up heard by a listener of this process, the outbox
//    claim's start (the outbox row's published_at, the claim transaction's now()), the bus message
//    heard by a subscriber of this process (as the api's listener hears it), and its arrival at an
//    SSE client;
// 3. `at` -> SSE client p50 and p99 at 1,000 events/s over 10 concurrent runs, one SSE client each,
//    next to the bus alone carrying as many messages at the same rate (the floor).
import { setTimeout as sleep } from 'node:timers/promises';

import { createBus } from '@runstream/bus';
import { type Cluster, now, probeRun, startCluster } from '@runstream/faults/harness';
import { createTracer } from '@runstream/orchestrator';
import {
  type RunEventRepo,
  createDatabase,
  createRepositories,
  loadBusSigningKey,
} from '@runstream/persistence';
import pg from 'pg';

import { percentile, printTable, type Row } from './lib.js';
import { createRun, lastSeqs, measureBus } from './pipeline.js';

const quick = process.argv.includes('--quick');
const TOTAL_RATE = 1000;
const LOAD_RUNS = 10;
const LOAD_SECONDS = quick ? 3 : 8;
const TIMELINE_EVENTS = quick ? 40 : 100;
const TIMELINE_GAP_MS = 50;
const HOLD_EVENTS = quick ? 100 : 300;

/** 1. The tracer's hold on a quiet run: emit -> its append's start, next to the append itself. */
async function measureHold(cluster: Cluster): Promise<{ hold: number[]; statement: number[] }> {
  const db = createDatabase({ url: cluster.databaseUrl, poolSize: 2 });
  const repos = createRepositories(db);
  // A graph no worker serves: the run stays queued, and this process is its only writer.
  const { run } = await repos.runs.create({
    tenant: 'bench',
    graph: 'bench-tracer-hold',
    input: {},
    firstEvent: { type: 'run.queued', data: { graph: 'bench-tracer-hold' } },
  });
  const hold: number[] = [];
  const statement: number[] = [];
  let emittedAt = 0;
  const events: Pick<RunEventRepo, 'append'> = {
    async append(...args) {
      const start = performance.now();
      hold.push(start - emittedAt);
      const result = await repos.events.append(...args);
      statement.push(performance.now() - start);
      return result;
    },
  };
  const tracer = createTracer({ events, wakeup: { notify: () => undefined } }, run.id);
  for (let index = 1; index <= HOLD_EVENTS; index++) {
    emittedAt = performance.now();
    await tracer.emit({ type: 'synthetic.tick', data: { index } });
    // Quiet: the next event comes well after this one committed.
    await sleep(10);
  }
  await tracer.end({ type: 'run.completed', data: { output: null } });
  await db.close();
  return { hold, statement };
}

interface Hops {
  at: number;
  committed: number;
  wake: number;
  claimed: number;
  bus: number;
  sse: number;
}

/** 2. One quiet run; every event stamped at every hop (epoch ms, sub-ms). */
async function measureTimeline(cluster: Cluster): Promise<Hops[]> {
  const wakes: number[] = [];
  const listener = new pg.Client({ connectionString: cluster.databaseUrl });
  await listener.connect();
  listener.on('notification', () => void wakes.push(now()));
  await listener.query('LISTEN runstream_outbox');
  const keyPool = new pg.Pool({ connectionString: cluster.databaseUrl, max: 1 });
  const signingKey = await loadBusSigningKey(keyPool);
  await keyPool.end();
  const bus = await createBus(
    { kind: 'postgres' },
    { databaseUrl: cluster.databaseUrl, name: 'bench-timeline', signingKey },
  );
  const busAt = new Map<number, number>();
  const sseAt = new Map<number, number>();
  // A run that starts after its listeners are in place: the first events are not lost to them.
  const runId = await createRun(cluster, {
    events: TIMELINE_EVENTS,
    delayMs: TIMELINE_GAP_MS,
    payloadBytes: 64,
  });
  const subscription = await bus.subscribe(runId, {
    onMessage: (message) => void (busAt.has(message.seq) || busAt.set(message.seq, now())),
    onResync: () => undefined,
  });
  const stop = AbortSignal.timeout(TIMELINE_EVENTS * TIMELINE_GAP_MS * 4 + 30_000);
  await probeRun({
    apiUrl: cluster.apiUrl,
    runId,
    signal: stop,
    onEvent: (event, arrivedAt) => void sseAt.set(event.seq, arrivedAt),
  });
  await sleep(200);
  await subscription.close();
  await bus.close();
  await listener.end();

  const db = new pg.Client({ connectionString: cluster.databaseUrl });
  await db.connect();
  const { rows } = await db.query<{
    seq: number;
    at: string;
    committed: string;
    claimed: string | null;
  }>(
    `SELECT e.seq,
            extract(epoch FROM e.created_at) * 1000 AS at,
            extract(epoch FROM pg_xact_commit_timestamp(e.xmin)) * 1000 AS committed,
            extract(epoch FROM o.published_at) * 1000 AS claimed
       FROM run_events e LEFT JOIN run_outbox o ON o.run_id = e.run_id AND o.seq = e.seq
      WHERE e.run_id = $1 AND e.type = 'synthetic.tick' ORDER BY e.seq`,
    [runId],
  );
  await db.end();
  const hops: Hops[] = [];
  for (const row of rows) {
    const committed = Number(row.committed);
    const wake = wakes.find((w) => w >= committed - 0.05);
    const bus = busAt.get(row.seq);
    const sse = sseAt.get(row.seq);
    if (wake === undefined || bus === undefined || sse === undefined || row.claimed === null)
      continue;
    hops.push({ at: Number(row.at), committed, wake, claimed: Number(row.claimed), bus, sse });
  }
  return hops;
}

/** 3. 10 runs at 1,000 events/s in all, one SSE client each: `at` -> client. */
async function measureLoad(cluster: Cluster): Promise<{
  latencies: number[];
  lost: number;
  repeats: number;
}> {
  const events = Math.round((LOAD_SECONDS * TOTAL_RATE) / LOAD_RUNS);
  const delayMs = Math.round((LOAD_RUNS * 1000) / TOTAL_RATE);
  const latencies: number[] = [];
  const stop = AbortSignal.timeout((LOAD_SECONDS * 4 + 60) * 1000);
  const runIds = await Promise.all(
    Array.from({ length: LOAD_RUNS }, () =>
      createRun(cluster, { events, delayMs, payloadBytes: 64 }),
    ),
  );
  const probes = await Promise.all(
    runIds.map((runId) => {
      let openedAt = Infinity;
      return probeRun({
        apiUrl: cluster.apiUrl,
        runId,
        signal: stop,
        onOpen: (at) => void (openedAt = Math.min(openedAt, at)),
        onEvent(event, arrivedAt) {
          // Events committed before the stream was open come by replay: not live latency.
          const committedAt = Date.parse(event.at);
          if (committedAt >= openedAt) latencies.push(arrivedAt - committedAt);
        },
      });
    }),
  );
  const seqs = await lastSeqs(cluster.databaseUrl, runIds);
  let lost = 0;
  for (const probe of probes) lost += Math.max(0, (seqs.get(probe.runId) ?? 0) - probe.lastSeq);
  return {
    latencies,
    lost,
    repeats: probes.reduce((sum, p) => sum + p.duplicates + p.gaps, 0),
  };
}

const cluster = await startCluster({
  bus: 'postgres',
  postgresSettings: { track_commit_timestamp: 'on' },
  env: { 'run-worker': { RUNSTREAM_RUN_WORKER_CONCURRENCY: '16' } },
});
let failed = false;
try {
  const { hold, statement } = await measureHold(cluster);
  const hops = await measureTimeline(cluster);
  const load = await measureLoad(cluster);
  const reference = await measureBus(cluster, LOAD_RUNS, TOTAL_RATE, quick ? 1 : 4);
  if (load.lost + load.repeats > 0 || hops.length < TIMELINE_EVENTS / 2) failed = true;

  const p50 = (pick: (h: Hops) => number): number => percentile(hops.map(pick), 50);
  const total = p50((h) => h.sse - h.at);
  const share = (name: string, pick: (h: Hops) => number): Row => ({
    name: `hop: ${name} (p50)`,
    value: p50(pick),
    unit: 'ms',
    reference: { name: 'at -> SSE client p50', value: total },
  });
  printTable(
    `latency: one quiet event through every process (${hops.length} events ${TIMELINE_GAP_MS} ms apart, postgres bus)`,
    [
      {
        name: 'tracer hold: emit -> append start p50',
        value: percentile(hold, 50),
        unit: 'ms',
        reference: { name: 'the append statement p50', value: percentile(statement, 50) },
      },
      {
        name: 'tracer hold: emit -> append start p99',
        value: percentile(hold, 99),
        unit: 'ms',
        reference: { name: 'the append statement p99', value: percentile(statement, 99) },
      },
      share('at -> commit (statement, WAL flush)', (h) => h.committed - h.at),
      share('commit -> outbox wake-up heard', (h) => h.wake - h.committed),
      share('wake-up -> claim transaction starts', (h) => h.claimed - h.wake),
      share('claim start -> bus message heard', (h) => h.bus - h.claimed),
      share('bus message -> SSE client', (h) => h.sse - h.bus),
      {
        name: 'at -> SSE client p99',
        value: percentile(
          hops.map((h) => h.sse - h.at),
          99,
        ),
        unit: 'ms',
      },
    ],
  );
  printTable(
    `latency: ${TOTAL_RATE} events/s over ${LOAD_RUNS} runs (postgres bus, ${LOAD_SECONDS} s, one SSE client per run)`,
    [
      {
        name: 'at -> SSE client p50',
        value: percentile(load.latencies, 50),
        unit: 'ms',
        reference: { name: 'aim', value: 3 },
      },
      {
        name: 'at -> SSE client p99',
        value: percentile(load.latencies, 99),
        unit: 'ms',
        reference: { name: 'aim', value: 15 },
      },
      {
        name: 'at -> SSE client p50',
        value: percentile(load.latencies, 50),
        unit: 'ms',
        reference: { name: 'bus alone p50', value: percentile(reference, 50) },
      },
      {
        name: 'at -> SSE client p99',
        value: percentile(load.latencies, 99),
        unit: 'ms',
        reference: { name: 'bus alone p99', value: percentile(reference, 99) },
      },
      { name: 'events lost', value: load.lost, unit: 'events' },
      { name: 'repeated or out of order', value: load.repeats, unit: 'frames' },
    ],
  );
} finally {
  await cluster.close();
}
if (failed) {
  process.stderr.write('latency: events were lost or repeated, or the timeline is incomplete\n');
  process.exitCode = 1;
}
