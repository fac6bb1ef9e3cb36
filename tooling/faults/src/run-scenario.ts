import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';

import { createRunstreamClient } from '@runstream/client';
import pg from 'pg';

import { pause, waitFor } from '@runstream/testkit';
import {
  type Cluster,
  type LiveCanary,
  ROLES,
  type Role,
  between,
  probeRun,
  startLiveCanary,
} from './harness/index.js';
import {
  type ExpectedEnd,
  type RunFacts,
  type Violation,
  checkHealToLive,
  checkOutcome,
  checkProbe,
  checkPrompt,
  checkRuns,
  checkStream,
  expectedEnd,
} from './invariants.js';
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

/** Live delivery must be back this soon after the network heals. */
export const HEAL_TO_LIVE_BOUND_MS = 15_000;

/** The api's SSE heartbeat in the suite: also how long an idle stream waits to check the database. */
export const SSE_HEARTBEAT_MS = 2000;

/**
 * What live means to the canary. A stream fed only by the heartbeat's database check (a dead bus)
 * goes quiet for at least a heartbeat after each burst, so an event committed just after a burst
 * waits more than half a heartbeat; and checks come at most 1.5 heartbeats apart (the pipe ticks
 * at half the interval), so every window that long holds such an event.
 */
const LIVE = { liveLatencyMs: SSE_HEARTBEAT_MS / 2, confirmMs: SSE_HEARTBEAT_MS * 1.5 };

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
  /** From the heal (or the last fault) until a fresh event reached an open stream live; undefined: not within the bound. */
  healToLiveMs?: number;
  maxRss: Partial<Record<Role, number>>;
  checks: string[];
  violations: Violation[];
  /** What the suite did after the scenario so that the next one starts clean. */
  cleanup: string[];
  /** After violations: the tail of each process's output (warnings and errors), for diagnosis. */
  logs?: Partial<Record<Role, string>>;
  ms: number;
}

interface Consumed {
  runId: string;
  seqs: number[];
  reconnects: number;
  error?: string;
}

/** A run the scenario checks, and how it must end when the scenario keeps outcomes. */
interface Tracked {
  runId: string;
  expected?: ExpectedEnd;
  /** For the promptness check: its events times its delay. */
  nominalMs?: number;
}

/** Starts one run through the api, retrying while the api is down; the idempotency key makes a retry safe. */
async function createRun(
  apiUrl: string,
  apiKey: string | undefined,
  input: Record<string, unknown>,
  deadline: number,
): Promise<string> {
  const client = createRunstreamClient({ baseUrl: apiUrl, apiKey });
  const idempotencyKey = randomUUID();
  for (;;) {
    try {
      // A request the api never answers (its database went silent) must not hold the workload.
      const { run } = await client.runs.create(
        { graph: 'synthetic', input, idempotencyKey },
        { signal: AbortSignal.timeout(5000) },
      );
      return run.id;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await pause(100);
    }
  }
}

/** Asks the api to cancel a run; an ended run (409) is fine. Gives up after a few tries. */
async function cancelRun(apiUrl: string, apiKey: string | undefined, runId: string): Promise<void> {
  const client = createRunstreamClient({ baseUrl: apiUrl, apiKey });
  for (let attempt = 0; ; attempt++) {
    try {
      await client.runs.cancel(runId, { signal: AbortSignal.timeout(5000) });
      return;
    } catch (error) {
      if ((error as { code?: string }).code === 'RUN_TERMINAL') return;
      if (attempt >= 2) throw error;
      await pause(200);
    }
  }
}

/** The product client (`events()`), which must hand its caller exactly 1..N whatever happens below it. */
async function consume(
  apiUrl: string,
  apiKey: string | undefined,
  runId: string,
  signal: AbortSignal,
): Promise<Consumed> {
  const client = createRunstreamClient({
    baseUrl: apiUrl,
    apiKey,
    retry: { initialDelayMs: 50, maxDelayMs: 1000 },
    reconnect: { maxAttempts: 10_000, idleTimeoutMs: 5000 },
  });
  const out: Consumed = { runId, seqs: [], reconnects: 0 };
  try {
    for await (const event of client.runs.events(runId, {
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
  const windowMs = Math.max(profile.windowMs, scenario.minWindowMs ?? 0);
  const keep = scenario.outcomesKept ?? false;
  const actions: string[] = [];
  const violations: Violation[] = [];
  const faultChecks: string[] = [];
  const maxRss: Partial<Record<Role, number>> = {};
  const sampler = setInterval(() => {
    for (const role of ROLES) maxRss[role] = Math.max(maxRss[role] ?? 0, cluster.rss(role) ?? 0);
  }, 200);
  const chaosBefore = cluster.busChaos ? { ...cluster.busChaos.counters } : undefined;
  const logMarks = new Map(ROLES.map((role) => [role, cluster.outputLength(role)]));
  const keyOf = (tenant: string | undefined): string | undefined =>
    cluster.tenants.find((t) => t.name === tenant)?.key;
  const tenantOf = (i: number): string | undefined =>
    workload.tenant ?? cluster.tenants[i % Math.max(1, cluster.tenants.length)]?.name;
  const tracked: Tracked[] = [];
  const tenantOfRun = new Map<string, string | undefined>();

  // Consumers stop at the stuck bound: a stream still open then is a violation, not a hang.
  const consumers = new AbortController();
  // Every consumer and every pause listens to it: dozens of listeners are expected, not a leak.
  setMaxListeners(0, consumers.signal);
  let hardStop = setTimeout(() => consumers.abort(), windowMs + profile.settleMs);

  // The canary follows one long run from before the faults to after the heal.
  const canaryTenant = tenantOf(0);
  let canary: LiveCanary | undefined;
  try {
    canary = await startLiveCanary({
      ...LIVE,
      apiUrl: cluster.apiUrl,
      apiKey: keyOf(canaryTenant),
      signal: consumers.signal,
      createRun: async (input) => {
        const runId = await createRun(
          cluster.apiUrl,
          keyOf(canaryTenant),
          input,
          Date.now() + profile.settleMs,
        );
        tenantOfRun.set(runId, canaryTenant);
        tracked.push({ runId, expected: keep ? { status: 'cancelled' } : undefined });
        return runId;
      },
      cancelRun: (runId) => cancelRun(cluster.apiUrl, keyOf(canaryTenant), runId),
    });
  } catch (error) {
    violations.push({ check: 'canary run started', detail: String(error) });
  }

  const flood = workload.flood;
  if (flood) {
    const ids = await Promise.all(
      Array.from({ length: flood.runs }, () =>
        createRun(cluster.apiUrl, keyOf(flood.tenant), flood.input, Date.now() + 10_000).catch(
          (error: unknown) => {
            violations.push({ check: 'flood run created', detail: String(error) });
            return undefined;
          },
        ),
      ),
    );
    for (const runId of ids) {
      if (!runId) continue;
      tenantOfRun.set(runId, flood.tenant);
      tracked.push({ runId, expected: { status: 'cancelled' } });
    }
    actions.push(`tenant ${flood.tenant} queued ${flood.runs} long runs`);
  }

  const chaos = new AbortController();
  let healedAt: number | undefined;
  const faults = (async () => {
    if (!scenario.fault) return;
    try {
      await scenario.fault({
        cluster,
        random,
        signal: chaos.signal,
        windowMs,
        did: (action) => actions.push(action),
        healed: () => void (healedAt = Date.now()),
        track: (runId, expected) => void tracked.push({ runId, expected }),
        violation: (v) => void violations.push(v),
        checked: (description) => void faultChecks.push(description),
      });
    } catch (error) {
      violations.push({
        check: 'fault injection',
        detail: error instanceof Error ? error.message : String(error),
      });
    }
  })();

  const probes: Promise<Awaited<ReturnType<typeof probeRun>>>[] = [];
  const clients: Promise<Consumed>[] = [];
  const creations: Promise<void>[] = [];
  const gap = windowMs / profile.runs;
  for (let i = 0; i < profile.runs; i++) {
    const events = between(random, ...(workload.events ?? [30, 90]));
    const delayMs = between(random, ...(workload.delayMs ?? [10, 40]));
    const input: { events: number; delayMs: number; payloadBytes: number; failAt?: number } = {
      events,
      delayMs,
      payloadBytes: workload.payloadBytes ?? 64,
    };
    if (random() < 0.1) input.failAt = between(random, 1, events);
    const tenant = tenantOf(i);
    const apiKey = keyOf(tenant);
    const probeRandom = random;
    // Each run is created and followed on its own: an api that hangs delays that run, not the next.
    // A create may be retried for half the settle time: a run created later could not end in it.
    creations.push(
      createRun(cluster.apiUrl, apiKey, input, started + windowMs + profile.settleMs / 2).then(
        (runId) => {
          tenantOfRun.set(runId, tenant);
          tracked.push({
            runId,
            expected: keep ? expectedEnd(input) : undefined,
            nominalMs: events * delayMs,
          });
          probes.push(
            probeRun({
              apiUrl: cluster.apiUrl,
              apiKey,
              runId,
              signal: consumers.signal,
              random: probeRandom,
              reconnectChance: workload.reconnectChance ?? 0.03,
              stall: workload.stall,
            }),
          );
          clients.push(consume(cluster.apiUrl, apiKey, runId, consumers.signal));
        },
        (error: unknown) =>
          void violations.push({
            check: 'run created',
            detail: `POST /v1/runs kept failing: ${String(error)}`,
          }),
      ),
    );
    await pause(gap);
  }
  chaos.abort();
  const windowEnd = Date.now();
  // The flood outlives the window by the promptness bound, so that every run of the window had
  // to find a slot beside it.
  const floodRuns = tracked.filter((t) => flood && tenantOfRun.get(t.runId) === flood.tenant);
  const floodCancels = (async () => {
    if (!flood) return;
    await pause(workload.prompt?.startMs ?? 0);
    await Promise.all(
      floodRuns.map((t) =>
        cancelRun(cluster.apiUrl, keyOf(flood.tenant), t.runId).catch(
          (error: unknown) =>
            void violations.push({
              check: 'flood run cancelled',
              runId: t.runId,
              detail: String(error),
            }),
        ),
      ),
    );
  })();
  await faults;
  healedAt ??= Date.now();
  // A fault that outlasted the window (an attack waiting for its verdict) moves the bounds with it.
  clearTimeout(hardStop);
  hardStop = setTimeout(
    () => consumers.abort(),
    Math.max(0, healedAt - Date.now()) + profile.settleMs,
  );
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

  const healToLiveMs = canary
    ? await canary.healToLive(healedAt, HEAL_TO_LIVE_BOUND_MS)
    : undefined;
  // Without a canary (it could not be started, a violation already) there is nothing to measure.
  if (canary)
    violations.push(
      ...checkHealToLive(healToLiveMs, HEAL_TO_LIVE_BOUND_MS, canary.describeSince(healedAt)),
    );
  const canaryProbes = canary ? canary.stop() : Promise.resolve([]);
  await Promise.all([...creations, floodCancels]);
  const runIds = tracked.map((t) => t.runId);

  const settleDeadline = Math.max(windowEnd, healedAt) + profile.settleMs;
  await waitForRunsToEnd(cluster.databaseUrl, runIds, settleDeadline - Date.now()).catch(
    (error: unknown) => {
      violations.push({
        check: 'no run stuck',
        detail: error instanceof Error ? error.message : String(error),
      });
    },
  );
  const [probeResults, clientResults, canaryResults] = await Promise.all([
    Promise.all(probes),
    Promise.all(clients),
    canaryProbes,
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
  const factsOf = (runId: string): RunFacts | undefined => db.facts.get(runId);
  for (const probe of [...probeResults, ...canaryResults])
    violations.push(...checkProbe(probe, factsOf(probe.runId)));
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
  for (const t of tracked) {
    if (t.expected) violations.push(...checkOutcome(t.runId, factsOf(t.runId), t.expected));
    if (workload.prompt && t.nominalMs !== undefined)
      violations.push(...checkPrompt(t.runId, factsOf(t.runId), t.nominalMs, workload.prompt));
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
  for (const f of db.facts.values()) {
    const key = f.status === 'failed' && f.errorCode ? `failed ${f.errorCode}` : f.status;
    outcomes[key] = (outcomes[key] ?? 0) + 1;
  }
  const counters = cluster.busChaos?.counters;
  const logs =
    violations.length > 0
      ? Object.fromEntries(ROLES.map((role) => [role, cluster.output(role, logMarks.get(role))]))
      : undefined;
  const cleanup = await cleanUp(cluster, runIds, violations.length > 0);
  return {
    scenario: scenario.name,
    bus: cluster.bus,
    seed,
    actions,
    runs: runIds.length,
    outcomes,
    events: [...db.facts.values()].reduce((sum, f) => sum + f.lastSeq, 0),
    reconnects: [...probeResults, ...canaryResults, ...clientResults].reduce(
      (sum, p) => sum + p.reconnects,
      0,
    ),
    stalls: probeResults.reduce((sum, p) => sum + p.stalls, 0),
    busChaos:
      counters && chaosBefore
        ? {
            messages: counters.busMessages - chaosBefore.busMessages,
            dropped: counters.dropped - chaosBefore.dropped,
            duplicated: counters.duplicated - chaosBefore.duplicated,
          }
        : undefined,
    healToLiveMs,
    maxRss,
    checks: [
      `${runIds.length} runs (${canary?.runIds.length ?? 0} canary${flood ? `, ${flood.runs} flood` : ''}): seqs gapless 1..n, exactly one terminal event and it is last, status ended (I2, I5); synthetic ticks each written once`,
      `every outbox row published, none parked (I1)`,
      `${probeResults.length + canaryResults.length} wire probes and ${clientResults.length} events() clients: exactly 1..N in order, no repeat, no hole (I3)`,
      `every run ended within ${profile.settleMs / 1000} s of the faults stopping`,
      ...(keep
        ? ['every run ended as its input asks (no fault failed a run or cut it short)']
        : []),
      ...(workload.prompt
        ? [
            `every ${workload.tenant ?? ''} run started within ${workload.prompt.startMs / 1000} s and ran at most ${workload.prompt.slackMs / 1000} s past its own work`,
          ]
        : []),
      `live delivery back within ${HEAL_TO_LIVE_BOUND_MS / 1000} s of the heal (canary events arriving within ${LIVE.liveLatencyMs / 1000} s of their commit, for ${LIVE.confirmMs / 1000} s)`,
      `every process stayed under ${mib(profile.maxRssBytes)} MiB RSS and none died on its own`,
      ...faultChecks,
    ],
    violations,
    cleanup,
    logs,
    ms: Date.now() - started,
  };
}

const mib = (bytes: number): number => Math.round(bytes / 2 ** 20);

/**
 * Leaves the cluster as the next scenario expects it: every link healed, every run of this
 * scenario ended (a cancel request, as the api would record it, for those still open), and, after
 * violations, every process restarted, so that a process this scenario wedged cannot fail the next.
 */
async function cleanUp(cluster: Cluster, runIds: string[], restart: boolean): Promise<string[]> {
  const notes: string[] = [];
  cluster.healNetwork();
  const open = await query<{ id: string }>(
    cluster.databaseUrl,
    `UPDATE runs SET cancel_requested_at = COALESCE(cancel_requested_at, now())
      WHERE id = ANY($1::uuid[]) AND finished_at IS NULL RETURNING id`,
    [runIds],
  );
  if (open.length > 0) notes.push(`asked the ${open.length} runs still open to cancel`);
  if (restart) {
    for (const role of ROLES) {
      await cluster.kill(role);
      await cluster.start(role);
    }
    notes.push('restarted every process after the violations');
  }
  if (open.length > 0) {
    await waitForRunsToEnd(cluster.databaseUrl, runIds, 20_000).catch(
      () => void notes.push('some of them were still open 20 s later'),
    );
  }
  return notes;
}

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

async function waitForRunsToEnd(url: string, runIds: string[], boundMs: number): Promise<void> {
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
      Math.max(0, boundMs),
    );
  } catch (error) {
    throw new Error(
      `${open.length} runs still open when the settle time ran out: ${open.slice(0, 5).join(', ')}`,
      { cause: error },
    );
  }
}

async function outboxDrained(url: string, runIds: string[]): Promise<boolean> {
  const rows = await query<{ n: number }>(
    url,
    'SELECT count(*)::int AS n FROM run_outbox WHERE run_id = ANY($1::uuid[]) AND published_at IS NULL AND parked_at IS NULL',
    [runIds],
  );
  return rows[0]?.n === 0;
}
