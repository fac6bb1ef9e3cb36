// pnpm bench:outbox: the outbox worker (the built process) draining a backlog of 100,000 events
// with 1 and 3 replicas, and commit-to-subscriber latency at 1,000 events/s on the postgres and
// nats buses; next to graphile-worker (tuned: local queue, batched completion) processing the same
// number of no-op jobs on the same database, and its add-to-start latency, in the same run.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { type Bus, createBus } from '@runstream/bus';
import { runQueuedEvent } from '@runstream/events';
import {
  createDatabase,
  createOutboxWakeup,
  createRunEventRepo,
  createRunRepo,
  loadBusSigningKey,
} from '@runstream/persistence';
import { Logger, makeWorkerUtils, run as runGraphile } from 'graphile-worker';
import pg from 'pg';

import { benchDatabase, median, percentile, printTable, type Row } from './lib.js';

const quick = process.argv.includes('--quick');
const BACKLOG = quick ? 20_000 : 100_000;
const RUNS = 100;
const LATENCY_SECONDS = quick ? 2 : 5;
const RATE = 1000;
const NATS_URL = process.env.RUNSTREAM_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
const MAIN = fileURLToPath(new URL('../apps/outbox-worker/dist/main.js', import.meta.url));

const bench = await benchDatabase();
const db = createDatabase({ url: bench.url, poolSize: 10, applicationName: 'bench-outbox' });
const runs = createRunRepo(db);
const events = createRunEventRepo(db);
const wakeup = createOutboxWakeup(db.pool);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function newRuns(n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const { run } = await runs.create({
      tenant: 'bench',
      graph: 'synthetic',
      input: {},
      firstEvent: runQueuedEvent('synthetic'),
    });
    ids.push(run.id);
  }
  return ids;
}

async function fillBacklog(total: number): Promise<void> {
  const ids = await newRuns(RUNS);
  const perRun = total / RUNS - 1;
  const batch = Array.from({ length: 500 }, (_, i) => ({
    type: 'text.delta' as const,
    data: { text: `${i} ${'x'.repeat(64)}` },
  }));
  await Promise.all(
    ids.map(async (id) => {
      for (let done = 0; done < perRun; done += 500)
        await events.append(id, batch.slice(0, Math.min(500, perRun - done)));
    }),
  );
}

async function unpublished(): Promise<number> {
  const { rows } = await db.pool.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM run_outbox WHERE published_at IS NULL',
  );
  return rows[0]!.n;
}

function startWorkers(n: number, bus: string): ChildProcess[] {
  return Array.from({ length: n }, () =>
    spawn(process.execPath, [MAIN], {
      env: {
        PATH: process.env.PATH,
        DATABASE_URL: bench.url,
        RUNSTREAM_BUS: bus,
        LOG_LEVEL: 'warn',
        RUNSTREAM_OUTBOX_METRICS_PORT: '0',
        RUNSTREAM_OUTBOX_POLL_INTERVAL_MS: '50',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    }),
  );
}

async function stopWorkers(workers: ChildProcess[]): Promise<void> {
  await Promise.all(
    workers.map(
      (w) =>
        new Promise<void>((resolve) => {
          if (w.exitCode !== null) return resolve();
          w.once('exit', () => resolve());
          w.kill('SIGTERM');
        }),
    ),
  );
}

/** Events/s from the first published row to an empty outbox; the workers start warm and idle. */
async function drain(replicas: number, bus: string): Promise<number> {
  const workers = startWorkers(replicas, bus);
  await sleep(1500);
  await fillBacklog(BACKLOG);
  const start = performance.now();
  wakeup.notify();
  while ((await unpublished()) > 0) await sleep(20);
  const seconds = (performance.now() - start) / 1000;
  await stopWorkers(workers);
  return BACKLOG / seconds;
}

/** The key the workers sign with: the subscriber must verify their events, as the api does. */
async function signingKey(): Promise<Buffer> {
  const client = new pg.Client({ connectionString: bench.url });
  await client.connect();
  try {
    return await loadBusSigningKey(client);
  } finally {
    await client.end();
  }
}

/** Commit-to-subscriber latency (ms) at RATE events/s over 10 runs, one event per append. */
async function latency(busKind: 'postgres' | 'nats'): Promise<number[]> {
  const bus: Bus = await createBus(
    busKind === 'nats' ? { kind: 'nats', url: NATS_URL } : { kind: 'postgres' },
    { databaseUrl: bench.url, name: 'bench-sub', signingKey: await signingKey() },
  );
  const workers = startWorkers(1, busKind === 'nats' ? NATS_URL : 'postgres');
  await sleep(1500);
  const ids = await newRuns(10);
  const committed = new Map<string, number>();
  const samples: number[] = [];
  for (const id of ids) {
    await bus.subscribe(id, {
      onMessage(m) {
        const t0 = committed.get(`${m.runId}:${m.seq}`);
        // A message can overtake the append's own answer: the commit happened before both.
        if (t0 !== undefined) samples.push(Math.max(0, performance.now() - t0));
        else committed.set(`${m.runId}:${m.seq}`, -1);
      },
      onResync: () => undefined,
    });
  }
  while ((await unpublished()) > 0) await sleep(20);
  const ticks = (LATENCY_SECONDS * RATE) / ids.length;
  const start = performance.now();
  for (let tick = 0; tick < ticks; tick++) {
    const due = start + (tick * 1000 * ids.length) / RATE;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    void Promise.all(
      ids.map(async (id) => {
        const r = await events.append(id, [{ type: 'text.delta', data: { text: String(tick) } }]);
        const key = `${id}:${r.lastSeq}`;
        if (committed.get(key) === -1) samples.push(0);
        else committed.set(key, performance.now());
        wakeup.notify();
      }),
    );
  }
  while ((await unpublished()) > 0) await sleep(20);
  await sleep(200);
  await stopWorkers(workers);
  await bus.close();
  return samples;
}

const graphileLogger = new Logger(() => () => undefined);
const GRAPHILE_TUNING = {
  concurrentJobs: 24,
  maxPoolSize: 12,
  localQueue: { size: 500 },
  completeJobBatchDelay: 0,
  pollInterval: 50,
} as const;

/** graphile-worker draining the same number of no-op jobs on the same database (jobs/s). */
async function graphileDrain(): Promise<number> {
  const utils = await makeWorkerUtils({ connectionString: bench.url, logger: graphileLogger });
  await utils.migrate();
  for (let i = 0; i < BACKLOG; i += 5000) {
    await utils.addJobs(
      Array.from({ length: Math.min(5000, BACKLOG - i) }, (_, k) => ({
        identifier: 'noop',
        payload: { k },
      })),
    );
  }
  let done = 0;
  let finished: () => void = () => undefined;
  const all = new Promise<void>((resolve) => (finished = resolve));
  const start = performance.now();
  const runner = await runGraphile({
    connectionString: bench.url,
    logger: graphileLogger,
    noHandleSignals: true,
    taskList: { noop: async () => void (++done === BACKLOG && finished()) },
    preset: { worker: GRAPHILE_TUNING },
  });
  await all;
  const seconds = (performance.now() - start) / 1000;
  await runner.stop();
  await utils.release();
  return BACKLOG / seconds;
}

/**
 * graphile-worker add-to-start latency (ms) at RATE jobs/s, measured as ours is: from the moment
 * addJob's commit is acknowledged to the start of the task (0 when the task starts first).
 */
async function graphileLatency(): Promise<number[]> {
  const utils = await makeWorkerUtils({ connectionString: bench.url, logger: graphileLogger });
  const added = new Map<number, number>();
  const started = new Map<number, number>();
  const runner = await runGraphile({
    connectionString: bench.url,
    logger: graphileLogger,
    noHandleSignals: true,
    taskList: {
      stamp: async (payload) => void started.set((payload as { k: number }).k, performance.now()),
    },
    preset: { worker: GRAPHILE_TUNING },
  });
  await sleep(1000);
  const total = LATENCY_SECONDS * RATE;
  const start = performance.now();
  for (let tick = 0; tick < total / 10; tick++) {
    const wait = start + tick * 10 - performance.now();
    if (wait > 0) await sleep(wait);
    for (let k = tick * 10; k < tick * 10 + 10; k++)
      void utils.addJob('stamp', { k }).then(() => added.set(k, performance.now()));
  }
  while (started.size < total || added.size < total) await sleep(20);
  await runner.stop();
  await utils.release();
  return [...added].map(([k, t0]) => Math.max(0, started.get(k)! - t0));
}

const drain1 = await drain(1, 'postgres');
const drain3 = await drain(3, 'postgres');
const drainNats = await drain(1, NATS_URL);
const graphileRate = await graphileDrain();
const pgLatency = await latency('postgres');
const natsLatency = await latency('nats');
const graphileLat = await graphileLatency();
const gp50 = percentile(graphileLat, 50);
const gp99 = percentile(graphileLat, 99);

const rows: Row[] = [
  {
    name: `backlog drain ${BACKLOG.toLocaleString('en-US')} events, 1 replica, postgres bus`,
    value: drain1,
    unit: 'events/s',
    reference: { name: 'graphile-worker no-op jobs, 1 worker', value: graphileRate },
  },
  {
    name: `backlog drain, 3 replicas, postgres bus`,
    value: drain3,
    unit: 'events/s',
    reference: { name: 'graphile-worker no-op jobs, 1 worker', value: graphileRate },
  },
  {
    name: `backlog drain, 1 replica, nats bus`,
    value: drainNats,
    unit: 'events/s',
    reference: { name: 'graphile-worker no-op jobs, 1 worker', value: graphileRate },
  },
  {
    name: `commit-to-subscriber p50 at ${RATE}/s, postgres bus`,
    value: percentile(pgLatency, 50),
    unit: 'ms',
    reference: { name: 'graphile-worker add-to-start p50', value: gp50 },
  },
  {
    name: `commit-to-subscriber p99 at ${RATE}/s, postgres bus`,
    value: percentile(pgLatency, 99),
    unit: 'ms',
    reference: { name: 'graphile-worker add-to-start p99', value: gp99 },
  },
  {
    name: `commit-to-subscriber p50 at ${RATE}/s, nats bus`,
    value: percentile(natsLatency, 50),
    unit: 'ms',
    reference: { name: 'graphile-worker add-to-start p50', value: gp50 },
  },
  {
    name: `commit-to-subscriber p99 at ${RATE}/s, nats bus`,
    value: percentile(natsLatency, 99),
    unit: 'ms',
    reference: { name: 'graphile-worker add-to-start p99', value: gp99 },
  },
];
printTable('outbox worker', rows);
process.stdout.write(
  `samples: postgres ${pgLatency.length}, nats ${natsLatency.length}, graphile ${graphileLat.length}; median check ${median(pgLatency).toFixed(2)} ms\n`,
);

await db.close();
await bench.close();
