import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';

import { createRunstreamClient } from '@runstream/client';
import pg from 'pg';

import {
  type Cluster,
  ROLES,
  type Role,
  between,
  pause,
  probeRun,
  waitFor,
} from './harness/index.js';
import { type RunFacts, type Violation, checkProbe, checkRuns, checkStream } from './invariants.js';
import type { Scenario } from './scenarios.js';

export interface Profile {
  name: 'quick' | 'full';
  /** Runs started per scenario, spread over the fault window. */
  runs: number;
  /** How long faults are injected. */
  windowMs: number;
  /** After the window, how long every run may take to end: beyond it a run is stuck. */
  settleMs: number;
  /** Highest resident set size allowed to any process during a scenario. */
  maxRssBytes: number;
}

export interface ScenarioReport {
  scenario: string;
  bus: string;
  seed: number;
  actions: string[];
  runs: number;
  outcomes: Record<string, number>;
  events: number;
  reconnects: number;
  stalls: number;
  busChaos?: { messages: number; dropped: number; duplicated: number };
  maxRss: Partial<Record<Role, number>>;
  checks: string[];
  violations: Violation[];
  ms: number;
}

interface Consumed {
  runId: string;
  seqs: number[];
  reconnects: number;
  error?: string;
}

/** Starts one run through the api, retrying while the api is down; the idempotency key makes a retry safe. */
async function createRun(
  apiUrl: string,
  input: Record<string, unknown>,
  deadline: number,
): Promise<string> {
  const client = createRunstreamClient({ baseUrl: apiUrl });
  const idempotencyKey = randomUUID();
  for (;;) {
    try {
      const { run } = await client.create({ graph: 'synthetic', input, idempotencyKey });
      return run.id;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await pause(100);
    }
  }
}

/** The product client (`events()`), which must hand its caller exactly 1..N whatever happens below it. */
async function consume(apiUrl: string, runId: string, signal: AbortSignal): Promise<Consumed> {
  const client = createRunstreamClient({
    baseUrl: apiUrl,
    reconnect: { initialDelayMs: 50, maxDelayMs: 1000, maxAttempts: 10_000, idleTimeoutMs: 5000 },
  });
  const out: Consumed = { runId, seqs: [], reconnects: 0 };
  try {
    for await (const event of client.events(runId, {
      signal,
      onReconnect: () => void out.reconnects++,
    }))
      out.seqs.push(event.seq);
  } catch (error) {
    out.error = error instanceof Error ? error.message : String(error);
  }
  return out;
}

export async function runScenario(
  cluster: Cluster,
  scenario: Scenario,
  profile: Profile,
  seed: number,
  random: () => number,
): Promise<ScenarioReport> {
  const started = Date.now();
  const workload = scenario.workload ?? {};
  const actions: string[] = [];
  const violations: Violation[] = [];
  const maxRss: Partial<Record<Role, number>> = {};
  const sampler = setInterval(() => {
    for (const role of ROLES) maxRss[role] = Math.max(maxRss[role] ?? 0, cluster.rss(role) ?? 0);
  }, 200);
  const chaosBefore = cluster.proxy ? { ...cluster.proxy.counters } : undefined;

  const chaos = new AbortController();
  const faults = (async () => {
    if (!scenario.fault) return;
    try {
      await scenario.fault({
        cluster,
        random,
        signal: chaos.signal,
        did: (action) => actions.push(action),
      });
    } catch (error) {
      violations.push({
        check: 'fault injection',
        detail: error instanceof Error ? error.message : String(error),
      });
    }
  })();

  // Consumers stop at the stuck bound: a stream still open then is a violation, not a hang.
  const consumers = new AbortController();
  // Every consumer and every pause listens to it: dozens of listeners are expected, not a leak.
  setMaxListeners(0, consumers.signal);
  const hardStop = setTimeout(() => consumers.abort(), profile.windowMs + profile.settleMs);
  const runIds: string[] = [];
  const probes: Promise<Awaited<ReturnType<typeof probeRun>>>[] = [];
  const clients: Promise<Consumed>[] = [];
  const gap = profile.windowMs / profile.runs;
  for (let i = 0; i < profile.runs; i++) {
    const events = between(random, ...(workload.events ?? [30, 90]));
    const input: Record<string, unknown> = {
      events,
      delayMs: between(random, ...(workload.delayMs ?? [10, 40])),
      payloadBytes: workload.payloadBytes ?? 64,
    };
    if (random() < 0.1) input.failAt = between(random, 1, events);
    try {
      const runId = await createRun(cluster.apiUrl, input, Date.now() + profile.settleMs);
      runIds.push(runId);
      probes.push(
        probeRun({
          apiUrl: cluster.apiUrl,
          runId,
          signal: consumers.signal,
          random,
          reconnectChance: workload.reconnectChance ?? 0.03,
          stall: workload.stall,
        }),
      );
      clients.push(consume(cluster.apiUrl, runId, consumers.signal));
    } catch (error) {
      violations.push({
        check: 'run created',
        detail: `POST /v1/runs kept failing: ${String(error)}`,
      });
    }
    await pause(gap);
  }
  chaos.abort();
  await faults;
  // Each fault leaves the part it hit running; a process that died on its own is a finding.
  for (const role of ROLES) {
    if (!cluster.alive(role)) {
      violations.push({
        check: 'processes survive faults they are not hit by',
        detail: `${role} exited:\n${cluster.output(role)}`,
      });
      await cluster.start(role);
    }
  }

  const facts = await waitForRunsToEnd(cluster.databaseUrl, runIds, profile.settleMs).catch(
    (error: unknown) => {
      violations.push({
        check: 'no run stuck',
        detail: error instanceof Error ? error.message : String(error),
      });
      return undefined;
    },
  );
  const [probeResults, clientResults] = await Promise.all([
    Promise.all(probes),
    Promise.all(clients),
  ]);
  clearTimeout(hardStop);
  clearInterval(sampler);
  // The outbox may still be marking the last rows it published; give it its poll interval or so.
  await waitFor(
    'the outbox to drain',
    () => outboxDrained(cluster.databaseUrl, runIds),
    15_000,
  ).catch(() => undefined);
  const db = await checkRuns(cluster.databaseUrl, runIds);
  violations.push(...db.violations);
  const factsOf = (runId: string): RunFacts | undefined => db.facts.get(runId) ?? facts?.get(runId);
  for (const probe of probeResults) violations.push(...checkProbe(probe, factsOf(probe.runId)));
  for (const consumed of clientResults) {
    violations.push(
      ...checkStream('client events()', consumed.runId, consumed.seqs, factsOf(consumed.runId)),
    );
    if (consumed.error)
      violations.push({
        check: 'client events() ends at the terminal event',
        runId: consumed.runId,
        detail: consumed.error,
      });
  }
  for (const role of ROLES) {
    if ((maxRss[role] ?? 0) > profile.maxRssBytes) {
      violations.push({
        check: 'memory bounded',
        detail: `${role} reached ${mib(maxRss[role]!)} MiB (bound ${mib(profile.maxRssBytes)} MiB)`,
      });
    }
  }

  const outcomes: Record<string, number> = {};
  for (const f of db.facts.values()) outcomes[f.status] = (outcomes[f.status] ?? 0) + 1;
  const lost = await workerLostCount(cluster.databaseUrl, runIds);
  if (lost > 0) outcomes['failed WORKER_LOST'] = lost;
  const counters = cluster.proxy?.counters;
  return {
    scenario: scenario.name,
    bus: cluster.bus,
    seed,
    actions,
    runs: runIds.length,
    outcomes,
    events: [...db.facts.values()].reduce((sum, f) => sum + f.lastSeq, 0),
    reconnects:
      probeResults.reduce((sum, p) => sum + p.reconnects, 0) +
      clientResults.reduce((sum, c) => sum + c.reconnects, 0),
    stalls: probeResults.reduce((sum, p) => sum + p.stalls, 0),
    busChaos:
      counters && chaosBefore
        ? {
            messages: counters.busMessages - chaosBefore.busMessages,
            dropped: counters.dropped - chaosBefore.dropped,
            duplicated: counters.duplicated - chaosBefore.duplicated,
          }
        : undefined,
    maxRss,
    checks: [
      `${runIds.length} runs: seqs gapless 1..n, exactly one terminal event and it is last, status ended (I2, I5)`,
      `every outbox row published, none parked (I1)`,
      `${probeResults.length} wire probes and ${clientResults.length} events() clients: exactly 1..N in order, no repeat, no hole (I3)`,
      `every run ended within ${profile.settleMs / 1000} s of the faults stopping`,
      `every process stayed under ${mib(profile.maxRssBytes)} MiB RSS and none died on its own`,
    ],
    violations,
    ms: Date.now() - started,
  };
}

const mib = (bytes: number): number => Math.round(bytes / 2 ** 20);

async function query<T extends pg.QueryResultRow>(
  url: string,
  text: string,
  values: unknown[],
): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

async function waitForRunsToEnd(
  url: string,
  runIds: string[],
  boundMs: number,
): Promise<Map<string, RunFacts>> {
  let open: string[] = runIds;
  try {
    await waitFor(
      'every run to end',
      async () => {
        const rows = await query<{ id: string }>(
          url,
          `SELECT id FROM runs WHERE id = ANY($1::uuid[]) AND finished_at IS NULL`,
          [runIds],
        );
        open = rows.map((r) => r.id);
        return open.length === 0;
      },
      boundMs,
    );
  } catch (error) {
    throw new Error(
      `${open.length} runs still open ${boundMs / 1000} s after the faults stopped: ${open.slice(0, 5).join(', ')}`,
      { cause: error },
    );
  }
  return new Map();
}

async function outboxDrained(url: string, runIds: string[]): Promise<boolean> {
  const rows = await query<{ n: number }>(
    url,
    'SELECT count(*)::int AS n FROM run_outbox WHERE run_id = ANY($1::uuid[]) AND published_at IS NULL AND parked_at IS NULL',
    [runIds],
  );
  return rows[0]?.n === 0;
}

async function workerLostCount(url: string, runIds: string[]): Promise<number> {
  const rows = await query<{ n: number }>(
    url,
    `SELECT count(*)::int AS n FROM runs WHERE id = ANY($1::uuid[]) AND error->>'code' = 'WORKER_LOST'`,
    [runIds],
  );
  return rows[0]?.n ?? 0;
}
