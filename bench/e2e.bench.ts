// pnpm bench:e2e: the whole pipeline as separate processes (api, outbox worker, run-worker) on a
// PostgreSQL of its own, with concurrent synthetic runs at a fixed total rate of 1,000 events/s and
// one SSE client on every run. Measures the latency from an event's commit to its arrival at the
// client (p50, p99), events lost and frames repeated (both must be 0), on the postgres bus and on
// NATS, at 10, 100 and 1,000 concurrent runs. The reference, measured in the same run on the same
// servers: the bus alone (the adapter's publish -> subscriber) carrying as many messages at the
// same rate over as many runs, which is the floor the pipeline adds its work to.
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';

import { type Bus, createBus } from '@runstream/bus';
import {
  type BusKind,
  type Cluster,
  type ProbeResult,
  now,
  probeRun,
  startCluster,
} from '@runstream/faults/harness';
import { pause } from '@runstream/testkit';
import pg from 'pg';

import { percentile, printTable, type Row } from './lib.js';

const quick = process.argv.includes('--quick');
/** Events per second over all runs together. */
const TOTAL_RATE = 1000;
const CONCURRENCY = quick ? [10, 100] : [10, 100, 1000];
/** How long each run streams at its share of the rate. */
const RUN_SECONDS = quick ? 2 : 8;
const REFERENCE_SECONDS = quick ? 1 : 4;
const BUSES: BusKind[] = ['postgres', 'nats'];

interface Level {
  latencies: number[];
  lost: number;
  duplicates: number;
  gaps: number;
  events: number;
  rate: number;
}

async function createRuns(
  cluster: Cluster,
  count: number,
  input: Record<string, unknown>,
  onCreated: (runId: string) => void,
): Promise<string[]> {
  const ids: string[] = [];
  // A few POSTs in flight at once: 1,000 runs start within a second or two, as a burst of users would.
  const queue = Array.from({ length: count }, (_, i) => i);
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (queue.shift() !== undefined) {
        const response = await fetch(`${cluster.apiUrl}/v1/runs`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ graph: 'synthetic', input }),
        });
        if (response.status !== 201)
          throw new Error(`POST /v1/runs: ${response.status} ${await response.text()}`);
        const { id } = (await response.json()) as { id: string };
        ids.push(id);
        // The client connects as soon as its run exists, as a user's would: not after the burst.
        onCreated(id);
      }
    }),
  );
  return ids;
}

async function lastSeqs(url: string, runIds: string[]): Promise<Map<string, number>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ id: string; last: number }>(
      'SELECT id, next_seq - 1 AS last FROM runs WHERE id = ANY($1::uuid[])',
      [runIds],
    );
    return new Map(rows.map((r) => [r.id, r.last]));
  } finally {
    await client.end();
  }
}

async function measurePipeline(cluster: Cluster, concurrency: number): Promise<Level> {
  const events = Math.max(1, Math.round((RUN_SECONDS * TOTAL_RATE) / concurrency));
  const latencies: number[] = [];
  let first = Infinity;
  let last = 0;
  let arrived = 0;
  const stop = new AbortController();
  const deadline = setTimeout(() => stop.abort(), (RUN_SECONDS * 4 + 60) * 1000);
  setMaxListeners(0, stop.signal);
  const pending: Promise<ProbeResult>[] = [];
  const follow = (runId: string): void => {
    let openedAt = Infinity;
    pending.push(
      probeRun({
        apiUrl: cluster.apiUrl,
        runId,
        signal: stop.signal,
        onOpen: (at) => void (openedAt = Math.min(openedAt, at)),
        onEvent(event, arrivedAt) {
          // Events committed before the stream was open (run.queued, and run.started when the
          // worker was quicker than the client) come by replay: their latency is the client's.
          const committedAt = Date.parse(event.at);
          if (committedAt < openedAt) return;
          latencies.push(arrivedAt - committedAt);
          first = Math.min(first, arrivedAt);
          last = Math.max(last, arrivedAt);
          arrived++;
        },
      }),
    );
  };
  const runIds = await createRuns(
    cluster,
    concurrency,
    { events, delayMs: concurrency, payloadBytes: 64 },
    follow,
  );
  const probes = await Promise.all(pending);
  clearTimeout(deadline);
  const seqs = await lastSeqs(cluster.databaseUrl, runIds);
  let lost = 0;
  for (const probe of probes) lost += Math.max(0, (seqs.get(probe.runId) ?? 0) - probe.lastSeq);
  return {
    latencies,
    lost,
    duplicates: probes.reduce((sum, p) => sum + p.duplicates, 0),
    gaps: probes.reduce((sum, p) => sum + p.gaps, 0),
    events: arrived,
    rate: (arrived * 1000) / Math.max(1, last - first),
  };
}

/** The bus alone: messages published at the same total rate over as many runs, one subscriber each. */
async function measureBus(cluster: Cluster, concurrency: number): Promise<number[]> {
  const config = cluster.nats
    ? ({ kind: 'nats', url: cluster.nats.url } as const)
    : ({ kind: 'postgres' } as const);
  // Signed and verified like the product's (any shared key will do for the bus alone).
  const signingKey = randomBytes(32);
  const publisher: Bus = await createBus(config, {
    databaseUrl: cluster.databaseUrl,
    name: 'bench-reference-publisher',
    signingKey,
  });
  const subscriber: Bus = await createBus(config, {
    databaseUrl: cluster.databaseUrl,
    name: 'bench-reference-subscriber',
    signingKey,
  });
  const latencies: number[] = [];
  const runIds = Array.from(
    { length: concurrency },
    (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
  );
  const subs = await Promise.all(
    runIds.map((runId) =>
      subscriber.subscribe(runId, {
        onMessage: (message) => void latencies.push(now() - Date.parse(message.event!.at)),
        onResync: () => undefined,
      }),
    ),
  );
  const tickMs = 10;
  const perTick = (TOTAL_RATE * tickMs) / 1000;
  const ticks = (REFERENCE_SECONDS * 1000) / tickMs;
  let seq = 0;
  const start = now();
  for (let tick = 0; tick < ticks; tick++) {
    const batch = Array.from({ length: perTick }, () => {
      seq++;
      const runId = runIds[seq % concurrency]!;
      const at = new Date().toISOString();
      return {
        source: 'outbox' as const,
        runId,
        seq,
        event: { runId, seq, type: 'synthetic.tick', at, data: { index: seq } },
      };
    });
    await publisher.publish(batch);
    await pause(Math.max(0, start + (tick + 1) * tickMs - now()));
  }
  await pause(500);
  await Promise.all(subs.map((s) => s.close()));
  await subscriber.close();
  await publisher.close();
  return latencies;
}

let failed = false;
for (const bus of BUSES) {
  const biggest = Math.max(...CONCURRENCY);
  const cluster = await startCluster({
    bus,
    // One run-worker process holds at most 256 runs at once.
    runWorkers: Math.ceil(biggest / 256),
    // One connection per run slot in the run-workers at worst (their pools are slots + 4).
    maxConnections: 1200,
    env: {
      'run-worker': {
        RUNSTREAM_RUN_WORKER_CONCURRENCY: String(Math.min(256, biggest)),
        RUNSTREAM_RUN_WORKER_POLL_MS: '50',
      },
    },
  });
  const rows: Row[] = [];
  try {
    for (const concurrency of CONCURRENCY) {
      const level = await measurePipeline(cluster, concurrency);
      const reference = await measureBus(cluster, concurrency);
      const label = `${bus} bus, ${concurrency} runs`;
      rows.push(
        {
          name: `${label}: commit -> client p50`,
          value: percentile(level.latencies, 50),
          unit: 'ms',
          reference: { name: 'bus alone p50', value: percentile(reference, 50) },
        },
        {
          name: `${label}: commit -> client p99`,
          value: percentile(level.latencies, 99),
          unit: 'ms',
          reference: { name: 'bus alone p99', value: percentile(reference, 99) },
        },
        {
          name: `${label}: delivered rate`,
          value: level.rate,
          unit: 'events/s',
          reference: { name: 'target', value: TOTAL_RATE },
        },
        { name: `${label}: events lost`, value: level.lost, unit: 'events' },
        { name: `${label}: duplicates`, value: level.duplicates + level.gaps, unit: 'frames' },
      );
      if (level.lost + level.duplicates + level.gaps > 0) failed = true;
    }
  } finally {
    await cluster.close();
  }
  printTable(
    `end to end, ${bus} bus (${TOTAL_RATE} events/s in total, ${RUN_SECONDS} s per run, one SSE client per run)`,
    rows,
  );
}
if (failed) {
  process.stderr.write('e2e: events were lost or repeated (see the table)\n');
  process.exitCode = 1;
}
