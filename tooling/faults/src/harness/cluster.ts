import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { ROOT, type Spawned, spawnNode, stop } from '@runstream/e2e/processes';
import { migrate } from '@runstream/persistence';
import pg from 'pg';

import { type ChaosProxy, natsFramer, postgresFramer, startChaosProxy } from './chaos-proxy.js';
import { type NatsServer, startNatsServer } from './nats-server.js';
import { type PostgresServer, startPostgresServer } from './postgres-server.js';
import { freePort, waitFor } from './wait.js';

export type BusKind = 'postgres' | 'nats';
export type Role = 'api' | 'outbox-worker' | 'run-worker';
export const ROLES: readonly Role[] = ['api', 'outbox-worker', 'run-worker'];

export interface ClusterOptions {
  bus: BusKind;
  /**
   * Put a chaos proxy between the api and its bus (the database for the postgres bus, nats-server
   * for NATS), so that bus messages can be dropped, repeated and cut on their way to the api.
   * @default false
   */
  chaos?: boolean;
  /** Extra environment per process (test-sized leases, heartbeats, stall timeouts). */
  env?: Partial<Record<Role, NodeJS.ProcessEnv>>;
  random?: () => number;
  /**
   * run-worker processes; only the first is killed and restarted by `kill`/`start`, the others
   * add capacity (one process runs at most 256 runs at once).
   * @default 1
   */
  runWorkers?: number;
  /** PostgreSQL's max_connections. @default 400 */
  maxConnections?: number;
}

/**
 * The three built processes as separate children, on a PostgreSQL (and for the NATS bus a
 * nats-server) of their own, so that any part can be killed, restarted or cut.
 */
export interface Cluster {
  bus: BusKind;
  apiUrl: string;
  databaseUrl: string;
  postgres: PostgresServer;
  nats?: NatsServer;
  proxy?: ChaosProxy;
  /** SIGKILLs a process (no drain, no cleanup), like a crash or an OOM kill. */
  kill(role: Role): Promise<void>;
  /** Starts the process again and waits until it is up (the api: /readyz answers 200). */
  start(role: Role): Promise<void>;
  pid(role: Role): number | undefined;
  /** Whether the process the suite started last for this role still runs (it did not exit on its own). */
  alive(role: Role): boolean;
  /** Resident set size of the process in bytes, read from /proc. */
  rss(role: Role): number | undefined;
  /** The tail of the process's output, for failure messages. */
  output(role: Role): string;
  close(): Promise<void>;
}

export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const random = options.random ?? Math.random;
  const postgres = await startPostgresServer({ maxConnections: options.maxConnections });
  const admin = new pg.Client({ connectionString: postgres.adminUrl });
  await admin.connect();
  await admin.query('CREATE DATABASE runstream');
  await admin.end();
  const databaseUrl = postgres.adminUrl.replace(/\/postgres$/, '/runstream');
  await migrate({ url: databaseUrl });

  const nats = options.bus === 'nats' ? await startNatsServer() : undefined;
  const proxy = options.chaos
    ? nats
      ? await startChaosProxy({ targetPort: nats.port, framer: natsFramer(), random })
      : await startChaosProxy({ targetPort: postgres.port, framer: postgresFramer, random })
    : undefined;
  const port = await freePort();
  const apiUrl = `http://127.0.0.1:${port}`;
  const apiDatabaseUrl =
    proxy && !nats ? databaseUrl.replace(`:${postgres.port}/`, `:${proxy.port}/`) : databaseUrl;
  const busUrl = nats ? `nats://127.0.0.1:${proxy?.port ?? nats.port}` : 'postgres';

  const base: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'warn', DATABASE_URL: databaseUrl };
  const envs: Record<Role, NodeJS.ProcessEnv> = {
    api: {
      ...base,
      DATABASE_URL: apiDatabaseUrl,
      RUNSTREAM_BUS: busUrl,
      HOST: '127.0.0.1',
      PORT: String(port),
      RUNSTREAM_RATE_LIMIT_MAX: '0',
      ...options.env?.api,
    },
    'outbox-worker': {
      ...base,
      RUNSTREAM_BUS: nats ? nats.url : 'postgres',
      RUNSTREAM_OUTBOX_METRICS_PORT: '0',
      ...options.env?.['outbox-worker'],
    },
    'run-worker': {
      ...base,
      RUNSTREAM_RUN_WORKER_METRICS_PORT: '0',
      ...options.env?.['run-worker'],
    },
  };
  const running = new Map<Role, Spawned>();
  const outputs = new Map<Role, string>();

  const start = async (role: Role): Promise<void> => {
    const spawned = spawnNode([join(ROOT, 'apps', role, 'dist', 'main.js')], { env: envs[role] });
    running.set(role, spawned);
    const exitedEarly = (): void => {
      if (spawned.child.exitCode !== null)
        throw new Error(`${role} exited with ${spawned.child.exitCode}:\n${spawned.output()}`);
    };
    if (role === 'api') {
      await waitFor('the api to be ready', async () => {
        exitedEarly();
        return (await fetch(`${apiUrl}/readyz`)).ok;
      });
    } else {
      // The workers have no readiness endpoint: up means alive with its first connections open.
      await waitFor(`${role} to connect`, async () => {
        exitedEarly();
        return (await connectionsOf(databaseUrl, `runstream-${role}`)) > 0;
      });
    }
  };
  const kill = async (role: Role): Promise<void> => {
    const spawned = running.get(role);
    if (!spawned) return;
    outputs.set(role, (outputs.get(role) ?? '') + spawned.output());
    running.delete(role);
    if (spawned.child.exitCode !== null || spawned.child.signalCode !== null) return;
    spawned.child.kill('SIGKILL');
    await spawned.exited;
  };

  for (const role of ROLES) await start(role);
  const extraRunWorkers: Spawned[] = [];
  for (let i = 1; i < (options.runWorkers ?? 1); i++) {
    extraRunWorkers.push(
      spawnNode([join(ROOT, 'apps', 'run-worker', 'dist', 'main.js')], { env: envs['run-worker'] }),
    );
  }

  return {
    bus: options.bus,
    apiUrl,
    databaseUrl,
    postgres,
    nats,
    proxy,
    kill,
    start,
    pid: (role) => running.get(role)?.child.pid,
    alive(role) {
      const child = running.get(role)?.child;
      return child !== undefined && child.exitCode === null && child.signalCode === null;
    },
    rss(role) {
      const pid = running.get(role)?.child.pid;
      if (pid === undefined) return undefined;
      try {
        const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
        return kb === undefined ? undefined : Number(kb) * 1024;
      } catch {
        return undefined;
      }
    },
    output: (role) =>
      ((outputs.get(role) ?? '') + (running.get(role)?.output() ?? '')).slice(-4000),
    async close() {
      await Promise.all([...running.values(), ...extraRunWorkers].map((spawned) => stop(spawned)));
      running.clear();
      await proxy?.close();
      await nats?.close();
      await postgres.close();
    },
  };
}

async function connectionsOf(url: string, prefix: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name LIKE $1',
      [`${prefix}%`],
    );
    return rows[0]?.n ?? 0;
  } finally {
    await client.end();
  }
}
