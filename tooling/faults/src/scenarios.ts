import pg from 'pg';

import { type BusKind, type Cluster, ROLES, type Role, between, pause } from './harness/index.js';

/** What a fault loop may use; it runs until `signal` aborts, then leaves every part running. */
export interface FaultContext {
  cluster: Cluster;
  random: () => number;
  signal: AbortSignal;
  /** Records one action for the scenario's printout. */
  did(action: string): void;
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
}

export interface Scenario {
  name: string;
  /** What it does, printed before it runs. */
  description: string;
  buses: readonly BusKind[];
  /** Only in the full profile. @default false */
  fullOnly?: boolean;
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
  const proxy = ctx.cluster.proxy!;
  Object.assign(proxy.rates, { drop, duplicate });
  ctx.did(
    `bus proxy drops ${drop * 100}% and repeats ${duplicate * 100}% of the messages to the api`,
  );
  try {
    await every(ctx, 1000, 3000, async () =>
      ctx.did(`bus proxy cut ${proxy.cutAll()} api connections`),
    );
  } finally {
    Object.assign(proxy.rates, { drop: 0, duplicate: 0 });
  }
}

export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'baseline',
    description: 'no fault: clients reconnect at random, nothing else',
    buses: BOTH,
  },
  {
    name: 'kill-api',
    description:
      'SIGKILL the api at random moments and restart it; every open SSE stream dies with it',
    buses: BOTH,
    fault: (ctx) => every(ctx, 700, 2500, () => killAndRestart(ctx, 'api')),
  },
  {
    name: 'kill-outbox-worker',
    description:
      'SIGKILL the outbox worker at random moments (between publish and mark, among others) and restart it',
    buses: BOTH,
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
      'a proxy between the api and its bus drops 20% and repeats 20% of bus messages, and cuts its connections',
    buses: BOTH,
    fault: (ctx) => busChaos(ctx, 0.2, 0.2),
  },
  {
    name: 'slow-consumers',
    description:
      'half the SSE connections stop reading for 4 s (the stall timeout is 1.5 s) while 8 MiB per run flow in 64 KiB events',
    buses: ['postgres'],
    workload: {
      payloadBytes: 65_536,
      events: [120, 130],
      delayMs: [2, 5],
      stall: { chance: 0.5, ms: 4000 },
      reconnectChance: 0,
    },
  },
  {
    name: 'everything',
    description: 'all of the above at random, one after another',
    buses: BOTH,
    fullOnly: true,
    workload: { stall: { chance: 0.1, ms: 3000 } },
    fault: async (ctx) => {
      Object.assign(ctx.cluster.proxy!.rates, { drop: 0.05, duplicate: 0.05 });
      try {
        await every(ctx, 400, 1500, async () => {
          const pick = between(ctx.random, 0, ctx.cluster.nats ? 6 : 5);
          if (pick <= 2) await killAndRestart(ctx, ROLES[pick]!);
          else if (pick === 3) await restartPostgres(ctx, ctx.random() < 0.5);
          else if (pick === 4) await terminateBackends(ctx);
          else if (pick === 5)
            ctx.did(`bus proxy cut ${ctx.cluster.proxy!.cutAll()} api connections`);
          else await restartNats(ctx);
        });
      } finally {
        Object.assign(ctx.cluster.proxy!.rates, { drop: 0, duplicate: 0 });
      }
    },
  },
];
