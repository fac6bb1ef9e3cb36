import { createRunstreamClient } from '@runstream/client';
import pg from 'pg';

import { type TcpProxy, pause, waitFor } from '@runstream/testkit';
import {
  type BusKind,
  type Cluster,
  ROLES,
  type Role,
  between,
  floodWrongKeys,
  probeRun,
  startSlowloris,
} from './harness/index.js';
import {
  type ExpectedEnd,
  type PromptnessBounds,
  type Violation,
  checkAuthFlood,
  checkSlowloris,
} from './invariants.js';

/** What a fault loop may use; it runs until `signal` aborts, then leaves every part running. */
export interface FaultContext {
  cluster: Cluster;
  random: () => number;
  signal: AbortSignal;
  /** How long this scenario's fault window lasts in this profile. */
  windowMs: number;
  /** Records one action for the scenario's printout. */
  did(action: string): void;
  /**
   * Marks the moment the network is whole again; heal-to-live is measured from the last mark.
   * @default the moment `fault` returns
   */
  healed(): void;
  /** Adds a run the fault started to the scenario's checks, with how it must end. */
  track(runId: string, expected: ExpectedEnd): void;
  /** A broken promise the fault itself found (an attack's verdict). */
  violation(violation: Violation): void;
  /** Names a check the fault made, for the printout. */
  checked(description: string): void;
}

export interface Workload {
  /**
   * Chance that a probe drops its connection after an event and resumes.
   * @default 0.03
   */
  reconnectChance?: number;
  /** Synthetic payload per event, in bytes. @default 64 */
  payloadBytes?: number;
  /** Events per run, drawn in [min, max]. @default [30, 90] */
  events?: [number, number];
  /** Pause after each event, drawn in [min, max] ms. @default [10, 40] */
  delayMs?: [number, number];
  /** Readers that stop reading for a while, with this chance per connection. */
  stall?: { chance: number; ms: number };
  /** The tenant of the runs and of their readers. @default the cluster's tenants in turn */
  tenant?: string;
  /** Each run must start and end this promptly (fairness). @default no bound but `settle` */
  prompt?: PromptnessBounds;
  /**
   * Before the window opens, this tenant fills the queue with `runs` runs of `input` (long ones),
   * which it cancels when the window closes; they must end cancelled.
   */
  flood?: { tenant: string; runs: number; input: Record<string, unknown> };
}

export interface Scenario {
  name: string;
  /** What it does, printed before it runs. */
  description: string;
  buses: readonly BusKind[];
  /** Only in the full profile. @default false */
  fullOnly?: boolean;
  /** A fault that needs a window at least this long. @default the profile's window */
  minWindowMs?: number;
  /**
   * Every run must end as its input asks: these faults may delay a run, never fail it or cut it
   * short (no WORKER_LOST, no PERSISTENCE_FAILED).
   * @default false
   */
  outcomesKept?: boolean;
  workload?: Workload;
  fault?(ctx: FaultContext): Promise<void>;
}

const BOTH: readonly BusKind[] = ['postgres', 'nats'];

/** Repeats `action` at random intervals in [minMs, maxMs] until the signal aborts. */
async function every(
  ctx: FaultContext,
  minMs: number,
  maxMs: number,
  action: () => Promise<void>,
): Promise<void> {
  for (;;) {
    await pause(between(ctx.random, minMs, maxMs), ctx.signal);
    if (ctx.signal.aborted) return;
    await action();
  }
}

async function killAndRestart(ctx: FaultContext, role: Role): Promise<void> {
  await ctx.cluster.kill(role);
  const downMs = between(ctx.random, 0, 600);
  await pause(downMs);
  await ctx.cluster.start(role);
  ctx.did(`SIGKILL ${role}, restarted after ${downMs} ms`);
}

async function restartPostgres(ctx: FaultContext, crash: boolean): Promise<void> {
  const downMs = between(ctx.random, 100, 1000);
  if (crash) await ctx.cluster.postgres.crash({ downMs });
  else await ctx.cluster.postgres.restart({ downMs });
  ctx.did(
    `${crash ? 'crashed (SIGQUIT, crash recovery)' : 'restarted (fast shutdown)'} PostgreSQL, down ${downMs} ms`,
  );
}

async function terminateBackends(ctx: FaultContext): Promise<void> {
  // One past the last index stands for every process at once.
  const role = ROLES[between(ctx.random, 0, ROLES.length)];
  const client = new pg.Client({ connectionString: ctx.cluster.databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>(
      `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
        WHERE application_name LIKE $1 AND pid <> pg_backend_pid()`,
      [role ? `runstream-${role}%` : 'runstream-%'],
    );
    ctx.did(`pg_terminate_backend on ${rows[0]?.n ?? 0} connections of ${role ?? 'every process'}`);
  } finally {
    await client.end();
  }
}

async function restartNats(ctx: FaultContext): Promise<void> {
  const downMs = between(ctx.random, 100, 1500);
  await ctx.cluster.nats!.restart({ downMs });
  ctx.did(`SIGKILL nats-server, restarted after ${downMs} ms`);
}

async function busChaos(ctx: FaultContext, drop: number, duplicate: number): Promise<void> {
  const chaos = ctx.cluster.busChaos!;
  const link = ctx.cluster.busLink('api')!;
  Object.assign(chaos.rates, { drop, duplicate });
  ctx.did(
    `bus link drops ${drop * 100}% and repeats ${duplicate * 100}% of the messages to the api`,
  );
  try {
    await every(ctx, 1000, 3000, async () =>
      ctx.did(`bus link reset ${link.reset()} api connections`),
    );
  } finally {
    Object.assign(chaos.rates, { drop: 0, duplicate: 0 });
  }
}

const describeLinks = (role: Role, links: readonly TcpProxy[], cluster: Cluster): string =>
  links
    .map((link) => (link === cluster.network?.[role].nats ? `${role}->nats` : `${role}->postgres`))
    .join(', ');

/** RSTs every open connection of the process, both ways. */
function resetLinks(ctx: FaultContext, role: Role): void {
  const links = ctx.cluster.links(role);
  const n = links.reduce((sum, link) => sum + link.reset(), 0);
  ctx.did(`reset ${n} connections of ${describeLinks(role, links, ctx.cluster)}`);
}

/**
 * A silent partition: every open connection of these processes stays open and passes nothing,
 * for ever, and new ones are accepted but silent for `ms`; then new connections work again. The
 * old sockets never recover: only a process that notices the silence gets a working connection.
 */
async function silence(
  ctx: FaultContext,
  targets: readonly { role: Role; links: readonly TcpProxy[] }[],
  ms: number,
): Promise<void> {
  let n = 0;
  for (const { links } of targets)
    for (const link of links) {
      n += link.blackhole();
      link.mode('blackhole');
    }
  await pause(ms);
  for (const { links } of targets) for (const link of links) link.heal();
  const what = targets.map((t) => describeLinks(t.role, t.links, ctx.cluster)).join(', ');
  ctx.did(`silenced ${n} open connections of ${what} for good, new ones for ${ms} ms, then healed`);
}

/** RSTs the connections that carry the process's bus: its NOTIFY/LISTEN ones, or its NATS ones. */
function resetBusLinks(ctx: FaultContext, role: 'api' | 'outbox-worker'): void {
  const { cluster } = ctx;
  const n = cluster.nats
    ? cluster.busLink(role)!.reset()
    : cluster.busLink(role)!.reset({ label: /-(publish|listen)$/ });
  ctx.did(`reset ${n} bus connections of ${role}`);
}

/** Long enough for the NATS client's own ping (2 s, 3 missed) to notice, and then some. */
const natsOutageMs = (ctx: FaultContext): number =>
  Math.max(12_000, Math.round(ctx.windowMs * 0.6));
/** A stream opened while the bus is down must deliver what the database has within this. */
const STREAM_START_BOUND_MS = 10_000;

/** Starts a short run and waits until it has ended and the outbox has published all of it. */
async function endedRun(ctx: FaultContext): Promise<{ runId: string; apiKey?: string }> {
  const tenant = ctx.cluster.tenants[0];
  const client = createRunstreamClient({ baseUrl: ctx.cluster.apiUrl, apiKey: tenant?.key });
  const { run } = await client.runs.create(
    { graph: 'synthetic', input: { events: 3 } },
    { signal: AbortSignal.timeout(5000) },
  );
  ctx.track(run.id, { status: 'succeeded', ticks: 3 });
  await waitFor(
    'the run to end and be published',
    async () => {
      const db = new pg.Client({ connectionString: ctx.cluster.databaseUrl });
      await db.connect();
      try {
        const { rows } = await db.query<{ done: boolean }>(
          `SELECT r.finished_at IS NOT NULL AND NOT EXISTS (
                    SELECT 1 FROM run_outbox o WHERE o.run_id = r.id AND o.published_at IS NULL) AS done
             FROM runs r WHERE r.id = $1`,
          [run.id],
        );
        return rows[0]?.done === true;
      } finally {
        await db.end();
      }
    },
    10_000,
  );
  return { runId: run.id, apiKey: tenant?.key };
}

/**
 * Opens a stream while the bus is down and times its first event: the database has every event,
 * so a stream must start from it and follow the database until the bus is back.
 */
async function streamStartsDuringOutage(
  ctx: FaultContext,
  run: { runId: string; apiKey?: string },
): Promise<void> {
  const opened = Date.now();
  const stop = new AbortController();
  let firstAt: number | undefined;
  const timer = setTimeout(() => stop.abort(), STREAM_START_BOUND_MS);
  await probeRun({
    apiUrl: ctx.cluster.apiUrl,
    apiKey: run.apiKey,
    runId: run.runId,
    signal: stop.signal,
    onEvent: () => {
      firstAt ??= Date.now();
    },
  });
  clearTimeout(timer);
  ctx.checked(
    `a stream opened while the bus is down delivers its first event within ${STREAM_START_BOUND_MS / 1000} s`,
  );
  ctx.did(
    `opened a stream during the outage: ${firstAt === undefined ? 'no event' : `first event after ${firstAt - opened} ms`}`,
  );
  if (firstAt === undefined)
    ctx.violation({
      check: 'a stream starts while the bus is down',
      runId: run.runId,
      detail: `no event within ${STREAM_START_BOUND_MS / 1000} s of opening it, though the database has them all`,
    });
}

/** How long a silent partition lasts in a window: long enough to matter, within it. */
const silentMs = (ctx: FaultContext): number =>
  Math.min(10_000, Math.max(2500, Math.round(ctx.windowMs * 0.4)));

/** The network faults of `everything`, each one over (healed) when it returns. */
async function networkFault(ctx: FaultContext): Promise<void> {
  const role = ROLES[between(ctx.random, 0, ROLES.length - 1)]!;
  const links = ctx.cluster.links(role);
  const what = describeLinks(role, links, ctx.cluster);
  const ms = between(ctx.random, 500, 2500);
  switch (between(ctx.random, 0, 4)) {
    case 0:
      return resetLinks(ctx, role);
    case 1:
      return silence(ctx, [{ role, links }], ms);
    case 2:
      for (const link of links) link.mode('refuse');
      await pause(ms);
      for (const link of links) link.heal();
      return ctx.did(`refused new connections of ${what} for ${ms} ms`);
    case 3: {
      const latency = between(ctx.random, 20, 300);
      for (const link of links) link.latency(latency);
      await pause(ms);
      for (const link of links) link.heal();
      return ctx.did(`added ${latency} ms latency each way to ${what} for ${ms} ms`);
    }
    default: {
      const rate = between(ctx.random, 64, 512) * 1024;
      for (const link of links) link.bandwidth(rate);
      await pause(ms);
      for (const link of links) link.heal();
      return ctx.did(`capped ${what} at ${rate / 1024} KiB/s for ${ms} ms`);
    }
  }
}

/** The api's defaults the hostile mix holds it to (the suite leaves them unset). */
const HEAD_TIMEOUT_MS = 10_000;
const BODY_TIMEOUT_MS = 30_000;
const AUTH_FAILURES_PER_MINUTE = 60;
/** A server checks its request timers periodically, not at the exact millisecond. */
const TIMEOUT_SLACK_MS = 2500;

/**
 * Hostile clients beside the normal traffic: slowloris sockets that trickle a request head or a
 * body and never finish, and a flood of wrong keys, each from a loopback address of its own (so a
 * per-address limit throttles the attacker, not the readers on 127.0.0.1).
 */
async function hostileClients(ctx: FaultContext): Promise<void> {
  const { apiUrl, tenants } = ctx.cluster;
  const port = Number(new URL(apiUrl).port);
  const openedAt = Date.now();
  const heads = startSlowloris({ port, sockets: 50, part: 'head', localAddress: '127.0.0.3' });
  const bodies = startSlowloris({
    port,
    sockets: 50,
    part: 'body',
    localAddress: '127.0.0.4',
    apiKey: tenants[0]?.key,
  });
  ctx.did('opened 50 sockets that trickle a request head, 50 that trickle a body, for good');
  const flood = await floodWrongKeys({ apiUrl, localAddress: '127.0.0.2', signal: ctx.signal });
  ctx.did(`sent ${flood.requests} wrong-key requests from one address`);
  ctx.healed();
  const maxFailures = 2 * AUTH_FAILURES_PER_MINUTE;
  ctx.checked(
    `wrong keys: 429 RATE_LIMITED with Retry-After after at most ${maxFailures} 401s (the limit is ${AUTH_FAILURES_PER_MINUTE} a minute), every error in the error shape`,
  );
  for (const v of checkAuthFlood(flood, maxFailures)) ctx.violation(v);
  const [head, body] = await Promise.all([
    heads.finish(openedAt + HEAD_TIMEOUT_MS + TIMEOUT_SLACK_MS - Date.now()),
    bodies.finish(openedAt + BODY_TIMEOUT_MS + TIMEOUT_SLACK_MS - Date.now()),
  ]);
  ctx.checked(
    `slowloris: every half-sent head closed within ${HEAD_TIMEOUT_MS / 1000} s, every half-sent body within ${BODY_TIMEOUT_MS / 1000} s (+${TIMEOUT_SLACK_MS / 1000} s)`,
  );
  for (const v of checkSlowloris(head, HEAD_TIMEOUT_MS + TIMEOUT_SLACK_MS)) ctx.violation(v);
  for (const v of checkSlowloris(body, BODY_TIMEOUT_MS + TIMEOUT_SLACK_MS)) ctx.violation(v);
}

export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'baseline',
    description: 'no fault: clients reconnect at random, nothing else',
    buses: BOTH,
    outcomesKept: true,
  },
  {
    name: 'kill-api',
    description:
      'SIGKILL the api at random moments and restart it; every open SSE stream dies with it',
    buses: BOTH,
    outcomesKept: true,
    fault: (ctx) => every(ctx, 700, 2500, () => killAndRestart(ctx, 'api')),
  },
  {
    name: 'kill-outbox-worker',
    description:
      'SIGKILL the outbox worker at random moments (between publish and mark, among others) and restart it',
    buses: BOTH,
    outcomesKept: true,
    fault: (ctx) => every(ctx, 500, 2000, () => killAndRestart(ctx, 'outbox-worker')),
  },
  {
    name: 'kill-run-worker',
    description:
      'SIGKILL the run-worker mid-run and restart it; its runs must end WORKER_LOST, once',
    buses: ['postgres'],
    fault: (ctx) => every(ctx, 800, 2500, () => killAndRestart(ctx, 'run-worker')),
  },
  {
    name: 'restart-postgres',
    description: 'restart PostgreSQL, alternating a fast shutdown and a crash (immediate shutdown)',
    buses: BOTH,
    fault: async (ctx) => {
      let crash = false;
      await every(ctx, 1500, 3000, () => restartPostgres(ctx, (crash = !crash)));
    },
  },
  {
    name: 'terminate-backends',
    description: "pg_terminate_backend on one process's connections (or everyone's) at random",
    buses: BOTH,
    fault: (ctx) => every(ctx, 300, 1200, () => terminateBackends(ctx)),
  },
  {
    name: 'restart-nats',
    description: 'SIGKILL nats-server and start it again on the same port',
    buses: ['nats'],
    fault: (ctx) => every(ctx, 1500, 3000, () => restartNats(ctx)),
  },
  {
    name: 'bus-drop-duplicate',
    description:
      "the api's bus link drops 20% and repeats 20% of bus messages, and resets its connections",
    buses: BOTH,
    outcomesKept: true,
    fault: (ctx) => busChaos(ctx, 0.2, 0.2),
  },
  {
    name: 'slow-consumers',
    description:
      'half the SSE connections stop reading for 4 s (the stall timeout is 1.5 s) while 8 MiB per run flow in 64 KiB events',
    buses: ['postgres'],
    outcomesKept: true,
    workload: {
      payloadBytes: 65_536,
      events: [120, 130],
      delayMs: [2, 5],
      stall: { chance: 0.5, ms: 4000 },
      reconnectChance: 0,
    },
  },
  {
    name: 'api-db-silent',
    description:
      "the api's database connections (pool and LISTEN) go silent mid-stream and stay open; new ones are silent too for a while, then the network heals",
    buses: ['postgres'],
    outcomesKept: true,
    fault: async (ctx) => {
      await pause(Math.round(ctx.windowMs * 0.25), ctx.signal);
      await silence(ctx, [{ role: 'api', links: ctx.cluster.links('api') }], silentMs(ctx));
      ctx.healed();
    },
  },
  {
    name: 'outbox-resets',
    description:
      "the outbox worker's connections are reset again and again for at least 10 s (all of them, or its bus's alone), and new ones refused for 2 s of it",
    buses: BOTH,
    minWindowMs: 10_000,
    outcomesKept: true,
    fault: async (ctx) => {
      const links = ctx.cluster.links('outbox-worker');
      const refuseFrom = Date.now() + Math.round(ctx.windowMs * 0.3);
      let refused = false;
      await every(ctx, 100, 400, async () => {
        if (!refused && Date.now() >= refuseFrom) {
          refused = true;
          for (const link of links) link.mode('refuse');
          ctx.did('refused new outbox-worker connections for 2000 ms');
          setTimeout(() => links.forEach((link) => link.mode('pass')), 2000).unref();
        }
        // Flows fail independently: when only the bus's connections die, the claim's transaction
        // lives on to count the failure against each run, which is where a bus-wide error must
        // not be taken for a run's fault.
        if (ctx.random() < 0.5) resetLinks(ctx, 'outbox-worker');
        else resetBusLinks(ctx, 'outbox-worker');
      });
      for (const link of links) link.heal();
      ctx.healed();
    },
  },
  {
    name: 'nats-blackhole',
    description:
      "the api's and the outbox worker's NATS connections go silent and stay open, new ones too for 12 s (15 s full), then the network heals; a stream opened meanwhile must start from the database",
    buses: ['nats'],
    minWindowMs: 16_000,
    outcomesKept: true,
    fault: async (ctx) => {
      // A run all of whose events are published before the outage: what a new stream replays.
      const replayable = await endedRun(ctx);
      await pause(Math.round(ctx.windowMs * 0.2), ctx.signal);
      const natsOf = (role: 'api' | 'outbox-worker') => ({
        role,
        links: [ctx.cluster.network![role].nats!],
      });
      const outage = silence(ctx, [natsOf('api'), natsOf('outbox-worker')], natsOutageMs(ctx));
      await pause(1000);
      await streamStartsDuringOutage(ctx, replayable);
      await outage;
      ctx.healed();
    },
  },
  {
    name: 'run-worker-resets',
    description:
      "the run-worker's database connections are reset again and again, mid-append; no run may fail or repeat an event",
    buses: ['postgres'],
    outcomesKept: true,
    fault: async (ctx) => {
      await every(ctx, 300, 1000, async () => resetLinks(ctx, 'run-worker'));
      ctx.healed();
    },
  },
  {
    name: 'hostile-mix',
    description:
      'beside normal traffic: slowloris sockets, a wrong-key flood, and tenant acme flooding the queue with long runs while globex runs short ones',
    buses: ['postgres'],
    outcomesKept: true,
    workload: {
      tenant: 'globex',
      prompt: { startMs: 5000, slackMs: 10_000 },
      // More long runs than the run-worker has slots (32).
      flood: { tenant: 'acme', runs: 40, input: { events: 100_000, delayMs: 500 } },
    },
    fault: hostileClients,
  },
  {
    name: 'everything',
    description: 'all of the above at random, one after another, network faults included',
    buses: BOTH,
    fullOnly: true,
    workload: { stall: { chance: 0.1, ms: 3000 } },
    fault: async (ctx) => {
      Object.assign(ctx.cluster.busChaos!.rates, { drop: 0.05, duplicate: 0.05 });
      try {
        await every(ctx, 400, 1500, async () => {
          const pick = between(ctx.random, 0, ctx.cluster.nats ? 7 : 6);
          if (pick <= 2) await killAndRestart(ctx, ROLES[pick]!);
          else if (pick === 3) await restartPostgres(ctx, ctx.random() < 0.5);
          else if (pick === 4) await terminateBackends(ctx);
          else if (pick === 5)
            ctx.did(`bus link reset ${ctx.cluster.busLink('api')!.reset()} api connections`);
          else if (pick === 6) await networkFault(ctx);
          else await restartNats(ctx);
        });
      } finally {
        Object.assign(ctx.cluster.busChaos!.rates, { drop: 0, duplicate: 0 });
      }
    },
  },
];
