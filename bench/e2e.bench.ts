// pnpm bench:e2e: thousands of concurrent runs as users see them. The api, the outbox worker and
// four run-workers run as separate processes on a PostgreSQL of their own that lets them open 100
// connections together (a role with CONNECTION LIMIT 100: PostgreSQL's default max_connections),
// on the postgres bus and on NATS. An open-loop generator offers the load: the runs are queued
// (through the graph catalog, as the api does), their SSE clients connect on a fixed schedule (each
// fired at its time, whether or not the ones before have been answered), then the four run-workers
// start and claim them all, and each run emits one event per second (the synthetic graph's emit
// does not wait for the commit), whatever the pipeline does with them.
//
// Figures: `at` -> SSE client p50/p99 of live events; the delivered rate in the window where every
// run is live, next to the offered rate (runs x 1/s); events lost and frames repeated (both must be
// 0: every stream exact); the processes' peak connections, next to the limit. Reference, measured
// in the same run on the same servers: the bus alone carrying as many messages at the same rate over
// as many runs.
//
// Why the earlier version reported 0.40x at 1,000 runs: it created runs 16 at a time, each POST
// waiting for the one before (a closed loop: under load the 1,000 runs took longer to arrive than a
// run lasts), and divided all events by the time from the first arrival to the last, ramp and tail
// included, when far fewer than 1,000 runs were live at once. Every event was delivered; the
// runs just did not overlap. Here the rate is counted only while all runs are live.
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';

import {
  type BusKind,
  type Cluster,
  type ProbeResult,
  type Tenant,
  now,
  probeRun,
  startCluster,
} from '@runstream/faults/harness';
import { createDatabase, createRepositories } from '@runstream/persistence';
import { pause } from '@runstream/testkit';
import pg from 'pg';

import { percentile, printTable, type Row } from './lib.js';
import { lastSeqs, measureBus } from './pipeline.js';

const quick = process.argv.includes('--quick');
/** Concurrent runs, each emitting one event per second, one SSE client each. */
const RUNS = quick ? 200 : 3000;
/** Client arrivals per second (the generator's schedule). */
const ARRIVALS_PER_SECOND = quick ? 200 : 500;
/** Events per run, one per second. */
const EVENTS = quick ? 8 : 20;
/**
 * The runs' owners, round robin: many users, as in production. (One tenant's creates take one
 * quota lock in turn, ADR 0017: a single tenant creating 500 runs a second measures that lock.)
 */
const TENANTS: readonly Tenant[] = Array.from({ length: quick ? 10 : 50 }, (_, i) => ({
  name: `bench${i}`,
  key: randomBytes(24).toString('hex'),
}));
const EVENT_GAP_MS = 1000;
const RUN_WORKERS = 4;
const CONNECTION_LIMIT = 100;
/** Each run-worker's pool; each also has one wake-up connection. */
const RUN_WORKER_POOL = 12;
/** BENCH_E2E_BUSES=postgres measures one bus only. */
const BUSES: BusKind[] =
  (process.env.BENCH_E2E_BUSES?.split(',') as BusKind[] | undefined) ??
  (quick ? ['postgres'] : ['postgres', 'nats']);
const REFERENCE_SECONDS = quick ? 1 : 3;

interface Level {
  latencies: number[];
  lost: number;
  repeats: number;
  /** Events delivered per second while every run was live. */
  delivered: number;
  /** Length of that window, in seconds. */
  windowSeconds: number;
  /** Each run's events delivered per second between its first and last live tick, over all runs. */
  perRun: number;
  /** The most runs live at once (between their first and last live tick). */
  peakLive: number;
  /** Run-workers that started runs (run.started names its worker). */
  owners: number;
  failedCreates: number;
  peakConnections: number;
}

/** Samples the connections the processes hold (their role's), keeping the highest count. */
function watchConnections(url: string): { stop(): Promise<number> } {
  const client = new pg.Client({ connectionString: url });
  let peak = 0;
  let running = true;
  const loop = (async () => {
    await client.connect();
    while (running) {
      const { rows } = await client.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = 'runstream_app'`,
      );
      peak = Math.max(peak, rows[0]?.n ?? 0);
      await pause(100);
    }
    await client.end();
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return peak;
    },
  };
}

/** The graph version the runs are queued at, held back until every run-worker is up. */
const HELD = 'bench-held';

/**
 * Queues RUNS runs of the tenants, round robin, straight in the database, at a version of the
 * synthetic graph that a live registration holds back: the run-workers leave runs of a version
 * another worker serves to that worker (a rolling deploy, ADR 0021). `release` ends that
 * registration, and the four idle workers claim them all within a poll. The api's own creation
 * rate is not what this measures: on a two-core machine it would spread 3,000 arrivals over longer
 * than a run lasts.
 */
async function queueRuns(cluster: Cluster): Promise<{ ids: string[]; release(): Promise<void> }> {
  const db = createDatabase({ url: cluster.databaseUrl, poolSize: 8 });
  const repos = createRepositories(db);
  await db.pool.query(
    `INSERT INTO graph_registrations (name, version, description, input_schema, live_until)
     SELECT name, $1, description, input_schema, now() + interval '1 hour'
       FROM graph_registrations WHERE name = 'synthetic' ORDER BY last_seen_at DESC LIMIT 1`,
    [HELD],
  );
  const ids: string[] = new Array<string>(RUNS);
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let i = next++; i < RUNS; i = next++) {
        const { run } = await repos.runs.create({
          tenant: TENANTS[i % TENANTS.length]!.name,
          graph: 'synthetic',
          graphVersion: HELD,
          input: { events: EVENTS, delayMs: EVENT_GAP_MS, payloadBytes: 64 },
          firstEvent: { type: 'run.queued', data: { graph: 'synthetic' } },
        });
        ids[i] = run.id;
      }
    }),
  );
  return {
    ids,
    async release() {
      await db.pool.query(
        `UPDATE graph_registrations SET live_until = now() - interval '1 second' WHERE version = $1`,
        [HELD],
      );
      await db.close();
    },
  };
}

async function workersThatRan(url: string, runIds: string[]): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>(
      `SELECT count(DISTINCT data->>'worker')::int AS n FROM run_events
        WHERE run_id = ANY($1::uuid[]) AND type = 'run.started'`,
      [runIds],
    );
    return rows[0]?.n ?? 0;
  } finally {
    await client.end();
  }
}

async function measurePipeline(cluster: Cluster): Promise<Level> {
  const latencies: number[] = [];
  const arrivals: number[] = [];
  /** Per run: when its first and last ticks arrived. */
  const spans = new Map<string, { first: number; last: number }>();
  const counts = new Map<string, number>();
  const stop = new AbortController();
  setMaxListeners(0, stop.signal);
  const connections = watchConnections(cluster.databaseUrl);
  const probes: Promise<ProbeResult>[] = [];
  const failedCreates = 0;
  const follow = (runId: string, apiKey: string): void => {
    let openedAt = Infinity;
    probes.push(
      probeRun({
        apiUrl: cluster.apiUrl,
        runId,
        apiKey,
        signal: stop.signal,
        onOpen: (at) => void (openedAt = Math.min(openedAt, at)),
        onEvent(event, arrivedAt) {
          const committedAt = Date.parse(event.at);
          // Committed before the stream was open: a replay, not a live delivery.
          if (committedAt < openedAt) return;
          latencies.push(arrivedAt - committedAt);
          arrivals.push(arrivedAt);
          counts.set(runId, (counts.get(runId) ?? 0) + 1);
          const span = spans.get(runId);
          if (span) span.last = arrivedAt;
          else spans.set(runId, { first: arrivedAt, last: arrivedAt });
        },
      }),
    );
  };
  // The runs wait in the queue, each with its client connected, while the run-workers idle.
  const queued = await queueRuns(cluster);
  const runIds = queued.ids;
  // The open-loop generator: client i connects at start + i / ARRIVALS_PER_SECOND, whether or not
  // the ones before it have been answered.
  const start = now();
  for (let i = 0; i < runIds.length; i++) {
    await pause(Math.max(0, start + (i * 1000) / ARRIVALS_PER_SECOND - now()));
    follow(runIds[i]!, TENANTS[i % TENANTS.length]!.key);
  }
  await pause(2000);
  // Then the four run-workers may claim them: every run streams at once.
  await queued.release();
  const created = now();
  // From the release on, the runs have their length and a generous margin to end.
  const deadline = setTimeout(() => stop.abort(), (EVENTS * 4 + 120) * 1000);
  const results = await Promise.all(probes);
  clearTimeout(deadline);
  const peakConnections = await connections.stop();
  const seqs = await lastSeqs(cluster.databaseUrl, runIds);
  const owners = await workersThatRan(cluster.databaseUrl, runIds);
  let lost = 0;
  for (const probe of results) lost += Math.max(0, (seqs.get(probe.runId) ?? 0) - probe.lastSeq);

  // Every run live: from the latest first delivery to the earliest last one, a second inside each.
  let from = 0;
  let to = Infinity;
  for (const span of spans.values()) {
    from = Math.max(from, span.first);
    to = Math.min(to, span.last);
  }
  if (process.env.BENCH_DEBUG)
    process.stderr.write(
      `e2e: released after ${((created - start) / 1000).toFixed(1)} s; latest first delivery at ${((from - start) / 1000).toFixed(1)} s, earliest last at ${((to - start) / 1000).toFixed(1)} s\n`,
    );
  from += EVENT_GAP_MS;
  to -= EVENT_GAP_MS;
  const windowSeconds = spans.size > 0 ? Math.max(0, (to - from) / 1000) : 0;
  let ticks = 0;
  let spanSeconds = 0;
  const edges: [number, number][] = [];
  for (const [runId, span] of spans) {
    ticks += (counts.get(runId) ?? 1) - 1;
    spanSeconds += (span.last - span.first) / 1000;
    edges.push([span.first, 1], [span.last, -1]);
  }
  edges.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  let live = 0;
  let peakLive = 0;
  for (const [, step] of edges) peakLive = Math.max(peakLive, (live += step));
  const inWindow = arrivals.filter((t) => t >= from && t < to).length;
  return {
    latencies,
    lost: lost + failedCreates * (EVENTS + 3),
    repeats: results.reduce((sum, p) => sum + p.duplicates + p.gaps, 0),
    delivered: windowSeconds > 0 ? inWindow / windowSeconds : NaN,
    windowSeconds,
    perRun: spanSeconds > 0 ? ticks / spanSeconds : NaN,
    peakLive,
    owners,
    failedCreates,
    peakConnections,
  };
}

/**
 * Waits until the run-workers are up: each holds a connection or two once its loops have run (a
 * process cannot be told from another here, so this waits for two per worker, then a little more);
 * the table's "run-workers that took runs" says whether all of them did.
 */
async function waitForRunWorkers(url: string, n: number): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (;;) {
      const { rows } = await client.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'runstream-run-worker'`,
      );
      if ((rows[0]?.n ?? 0) >= 2 * n) return await pause(3000);
      await pause(200);
    }
  } finally {
    await client.end();
  }
}

let failed = false;
for (const bus of BUSES) {
  const cluster = await startCluster({
    bus,
    runWorkers: RUN_WORKERS,
    tenants: TENANTS,
    connectionLimit: CONNECTION_LIMIT,
    env: {
      // Thousands of runs with an event or two each: one claim takes many runs (default 32).
      'outbox-worker': { RUNSTREAM_OUTBOX_MAX_RUNS: '1000' },
      api: {
        RUNSTREAM_TENANT_MAX_QUEUED: String(RUNS * 10),
        RUNSTREAM_TENANT_MAX_STREAMS: String(RUNS * 10),
      },
      'run-worker': {
        RUNSTREAM_RUN_WORKER_CONCURRENCY: String(Math.ceil((RUNS * 1.25) / RUN_WORKERS)),
        RUNSTREAM_RUN_WORKER_POOL_SIZE: String(RUN_WORKER_POOL),
        RUNSTREAM_RUN_WORKER_POLL_MS: '50',
        // Every run of the generator runs at once.
        RUNSTREAM_TENANT_MAX_RUNNING: String(RUNS),
      },
    },
  });
  const rows: Row[] = [];
  try {
    await waitForRunWorkers(cluster.databaseUrl, RUN_WORKERS);
    const level = await measurePipeline(cluster);
    const offered = (RUNS * 1000) / EVENT_GAP_MS;
    const reference = await measureBus(cluster, RUNS, offered, REFERENCE_SECONDS);
    const label = `${bus} bus, ${RUNS} runs`;
    rows.push(
      {
        name: `${label}: at -> client p50`,
        value: percentile(level.latencies, 50),
        unit: 'ms',
        reference: { name: 'bus alone p50', value: percentile(reference, 50) },
      },
      {
        name: `${label}: at -> client p99`,
        value: percentile(level.latencies, 99),
        unit: 'ms',
        reference: { name: 'bus alone p99', value: percentile(reference, 99) },
      },
      {
        name: `${label}: at -> client p99`,
        value: percentile(level.latencies, 99),
        unit: 'ms',
        reference: { name: 'aim', value: 250 },
      },
      {
        name: `${label}: delivered rate while every run is live`,
        value: level.delivered,
        unit: 'events/s',
        reference: { name: 'offered', value: offered },
      },
      {
        name: `${label}: peak database connections of the processes`,
        value: level.peakConnections,
        unit: 'connections',
        reference: { name: 'limit', value: CONNECTION_LIMIT },
      },
      { name: `${label}: window with every run live`, value: level.windowSeconds, unit: 's' },
      {
        name: `${label}: delivered rate per run`,
        value: level.perRun,
        unit: 'events/s',
        reference: { name: 'offered', value: 1000 / EVENT_GAP_MS },
      },
      {
        name: `${label}: runs live at once at the peak`,
        value: level.peakLive,
        unit: 'runs',
        reference: { name: 'runs', value: RUNS },
      },
      {
        name: `${label}: run-workers that took runs`,
        value: level.owners,
        unit: 'processes',
        reference: { name: 'started', value: RUN_WORKERS },
      },
      { name: `${label}: events lost`, value: level.lost, unit: 'events' },
      { name: `${label}: repeated or out of order`, value: level.repeats, unit: 'frames' },
      { name: `${label}: runs refused at creation`, value: level.failedCreates, unit: 'runs' },
    );
    if (level.lost + level.repeats + level.failedCreates > 0) {
      failed = true;
      process.stderr.write(`api output:\n${cluster.output('api')}\n`);
    }
  } finally {
    await cluster.close();
  }
  printTable(
    `end to end, ${bus} bus (${RUNS} runs arriving ${ARRIVALS_PER_SECOND}/s, 1 event/s each, ${RUN_WORKERS} run-workers, ${CONNECTION_LIMIT} connections, one SSE client per run, ${TENANTS.length} tenants)`,
    rows,
  );
}
if (failed) {
  process.stderr.write('e2e: events were lost or repeated, or runs refused (see the table)\n');
  process.exitCode = 1;
}
