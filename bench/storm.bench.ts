// pnpm bench:storm: an arrival storm. The api, the outbox worker and the run-worker run as separate
// processes on a PostgreSQL of their own with the postgres bus; one run streams 20 events a second,
// and 1,000 SSE clients (200 with --quick) open it within one second, one every millisecond, whether
// or not the ones before have been answered (each follows with the fault suite's wire probe, which
// checks every frame is the next seq).
//
// Figures: events each client missed (its run's last seq minus the last it received in order: must
// be 0); `at` -> client p99 of the events committed after the storm (every client open), next to the
// same run's p99 before the storm with one client (the steady state) and to the 250 ms aim; the
// api's RSS per client at the peak, next to the 50 KiB aim; and the reads of run_events and
// lookups of runs during the storm (index and sequential scans, from pg_stat_user_tables), less what
// the processes read over as long a window just before it, next to the client count.
import { setMaxListeners } from 'node:events';

import {
  type Cluster,
  type ProbeResult,
  now,
  probeRun,
  startCluster,
} from '@runstream/faults/harness';
import { pause } from '@runstream/testkit';
import pg from 'pg';

import { percentile, printTable } from './lib.js';
import { createRun, lastSeqs } from './pipeline.js';

const quick = process.argv.includes('--quick');
const CLIENTS = quick ? 200 : 1000;
const STORM_MS = 1000;
const EVENT_GAP_MS = 50;
/** Events of the run: the storm starts 2 s in, and the run goes on 6 s (4 s quick) after it. */
const EVENTS = Math.round(((quick ? 6 : 8) * 1000 + STORM_MS) / EVENT_GAP_MS);

async function scans(url: string): Promise<{ events: number; runs: number }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ relname: string; scans: string }>(
      `SELECT relname, (coalesce(idx_scan, 0) + coalesce(seq_scan, 0))::text AS scans
         FROM pg_stat_user_tables WHERE relname IN ('run_events', 'runs')`,
    );
    const of = (name: string): number => Number(rows.find((r) => r.relname === name)?.scans ?? 0);
    return { events: of('run_events'), runs: of('runs') };
  } finally {
    await client.end();
  }
}

async function storm(cluster: Cluster) {
  const stop = new AbortController();
  setMaxListeners(0, stop.signal);
  const deadline = setTimeout(() => stop.abort(), (EVENTS * EVENT_GAP_MS) / 1000 + 120_000);
  const runId = await createRun(cluster, {
    events: EVENTS,
    delayMs: EVENT_GAP_MS,
    payloadBytes: 64,
  });
  // The steady state: one client from the start.
  const steady: number[] = [];
  const steadyProbe = probeRun({
    apiUrl: cluster.apiUrl,
    runId,
    signal: stop.signal,
    onEvent: (event, arrivedAt) => void steady.push(arrivedAt - Date.parse(event.at)),
  });
  await pause(1000);
  // What the three processes read anyway over as long as the storm is counted (a run streaming:
  // claims, appends, the outbox), to be taken off the storm's count.
  const baselineFrom = await scans(cluster.databaseUrl);
  await pause(STORM_MS + 1000);
  const baselineTo = await scans(cluster.databaseUrl);
  const steadyBefore = [...steady];

  let peakRss = 0;
  const rssBefore = cluster.rss('api') ?? 0;
  const sampling = setInterval(() => (peakRss = Math.max(peakRss, cluster.rss('api') ?? 0)), 20);
  const scansBefore = await scans(cluster.databaseUrl);
  const stormStart = now();
  const after: number[] = [];
  let lastOpen = 0;
  const probes: Promise<ProbeResult>[] = [];
  for (let i = 0; i < CLIENTS; i++) {
    await pause(Math.max(0, stormStart + (i * STORM_MS) / CLIENTS - now()));
    probes.push(
      probeRun({
        apiUrl: cluster.apiUrl,
        runId,
        signal: stop.signal,
        onOpen: (at) => void (lastOpen = Math.max(lastOpen, at)),
        onEvent(event, arrivedAt) {
          const committedAt = Date.parse(event.at);
          if (committedAt > stormStart + STORM_MS && committedAt > lastOpen)
            after.push(arrivedAt - committedAt);
        },
      }),
    );
  }
  // The storm's reads: counted once every client is open and caught up, a second later.
  await pause(STORM_MS + 1000);
  const scansAfter = await scans(cluster.databaseUrl);
  const results = await Promise.all([steadyProbe, ...probes]);
  clearInterval(sampling);
  clearTimeout(deadline);
  const last = (await lastSeqs(cluster.databaseUrl, [runId])).get(runId) ?? 0;
  return {
    missed: results.reduce((sum, r) => sum + Math.max(0, last - r.lastSeq), 0),
    repeats: results.reduce((sum, r) => sum + r.duplicates + r.gaps, 0),
    after,
    steady: steadyBefore,
    rssPerClient: (peakRss - rssBefore) / CLIENTS / 1024,
    eventReads: scansAfter.events - scansBefore.events - (baselineTo.events - baselineFrom.events),
    runLookups: scansAfter.runs - scansBefore.runs - (baselineTo.runs - baselineFrom.runs),
  };
}

const cluster = await startCluster({
  bus: 'postgres',
  env: { api: { RUNSTREAM_TENANT_MAX_STREAMS: String(CLIENTS * 2) } },
});
let failed = false;
try {
  const result = await storm(cluster);
  if (result.missed + result.repeats > 0) failed = true;
  const label = `storm of ${CLIENTS} clients`;
  printTable(
    `arrival storm (${CLIENTS} SSE clients opening one live run within ${STORM_MS} ms, ${1000 / EVENT_GAP_MS} events/s, postgres bus)`,
    [
      { name: `${label}: events missed`, value: result.missed, unit: 'events' },
      { name: `${label}: repeated or out of order`, value: result.repeats, unit: 'frames' },
      {
        name: `${label}: delivery p99 after the storm`,
        value: percentile(result.after, 99),
        unit: 'ms',
        reference: {
          name: 'one client before the storm p99',
          value: percentile(result.steady, 99),
        },
      },
      {
        name: `${label}: delivery p99 after the storm`,
        value: percentile(result.after, 99),
        unit: 'ms',
        reference: { name: 'aim', value: 250 },
      },
      {
        name: `${label}: delivery p50 after the storm`,
        value: percentile(result.after, 50),
        unit: 'ms',
        reference: {
          name: 'one client before the storm p50',
          value: percentile(result.steady, 50),
        },
      },
      {
        name: `${label}: api RSS per client at the peak`,
        value: result.rssPerClient,
        unit: 'KiB',
        reference: { name: 'aim', value: 50 },
      },
      {
        name: `${label}: run_events reads during the storm`,
        value: result.eventReads,
        unit: 'scans',
        reference: { name: 'clients', value: CLIENTS },
      },
      {
        name: `${label}: runs lookups during the storm`,
        value: result.runLookups,
        unit: 'scans',
        reference: { name: 'clients', value: CLIENTS },
      },
    ],
  );
} finally {
  await cluster.close();
}
if (failed) {
  process.stderr.write('storm: a client missed or repeated events\n');
  process.exitCode = 1;
}
