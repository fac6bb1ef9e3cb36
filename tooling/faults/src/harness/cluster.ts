import { readFileSync } from 'node:fs';

import { migrate } from '@runstream/persistence';
import {
  type BusMessageChaos,
  type EmbeddedPostgres,
  type Spawned,
  type TcpProxy,
  type TestNatsServer,
  createBusMessageChaos,
  freePort,
  postgresApplicationName,
  spawnApp,
  startEmbeddedPostgres,
  startNatsServer,
  startTcpProxy,
  stop,
  waitFor,
} from '@runstream/testkit';
import pg from 'pg';

export type BusKind = 'postgres' | 'nats';
export type Role = 'api' | 'outbox-worker' | 'run-worker';
export const ROLES: readonly Role[] = ['api', 'outbox-worker', 'run-worker'];

/** A tenant of the api and its key (one `tenant:key` pair of RUNSTREAM_API_KEYS). */
export interface Tenant {
  name: string;
  key: string;
}

export interface ClusterOptions {
  bus: BusKind;
  /**
   * Put a fault proxy (`startTcpProxy` of @runstream/testkit) between each process and each server
   * it reaches: PostgreSQL for all three, and nats-server for the api and the outbox worker on the
   * NATS bus. The api's bus link (the database for the postgres bus) also carries `busChaos`, which
   * drops and repeats bus messages on their way to the api.
   * @default false
   */
  network?: boolean;
  /** The api's tenants (RUNSTREAM_API_KEYS). @default none: auth off */
  tenants?: readonly Tenant[];
  /** Extra environment per process (test-sized leases, heartbeats, stall timeouts). */
  env?: Partial<Record<Role, NodeJS.ProcessEnv>>;
  random?: () => number;
  /**
   * run-worker processes; only the first is killed and restarted by `kill`/`start`, the others
   * add capacity (one process holds up to RUNSTREAM_RUN_WORKER_CONCURRENCY runs, at most 10,000).
   * @default 1
   */
  runWorkers?: number;
  /** PostgreSQL's max_connections. @default 400 */
  maxConnections?: number;
  /** More PostgreSQL settings (see startPostgresServer). */
  postgresSettings?: Readonly<Record<string, string>>;
  /**
   * Connect the three processes as a role of their own that PostgreSQL lets open at most this many
   * connections together (`CONNECTION LIMIT`; past it the server refuses with 53300), as a server
   * with the default max_connections of 100 would. The suite's own connections are not counted.
   * @default unlimited (the processes connect as the superuser)
   */
  connectionLimit?: number;
}

/** The fault proxies one process's connections go through. */
export interface ProcessLinks {
  /** To PostgreSQL: its pool, and for the postgres bus its LISTEN and NOTIFY connections too. */
  database: TcpProxy;
  /** To nats-server (NATS bus; the api and the outbox worker only). */
  nats?: TcpProxy;
}

/**
 * The three built processes as separate children, on a PostgreSQL (and for the NATS bus a
 * nats-server) of their own, so that any part can be killed, restarted, cut or silenced.
 */
export interface Cluster {
  bus: BusKind;
  apiUrl: string;
  databaseUrl: string;
  postgres: EmbeddedPostgres;
  nats?: TestNatsServer;
  tenants: readonly Tenant[];
  /** Each process's links, when started with `network`. */
  network?: Readonly<Record<Role, ProcessLinks>>;
  /** Drops and repeats bus messages on the api's bus link, when started with `network`. */
  busChaos?: BusMessageChaos;
  /** Every link of a process (what "its connections" means to a network fault); [] without `network`. */
  links(role: Role): TcpProxy[];
  /** The link that carries the process's bus: its database link for the postgres bus, else its NATS link. */
  busLink(role: 'api' | 'outbox-worker'): TcpProxy | undefined;
  /** Back to `pass` on every link, no latency, no cap, no bus message chaos (silenced sockets stay dead). */
  healNetwork(): void;
  /**
   * Starts one more run-worker process (capacity, like `runWorkers`), once it has connected;
   * stopped by `close`.
   */
  addRunWorker(): Promise<void>;
  /** SIGKILLs a process (no drain, no cleanup), like a crash or an OOM kill. */
  kill(role: Role): Promise<void>;
  /** Starts the process again and waits until it is up (the api: /readyz answers 200). */
  start(role: Role): Promise<void>;
  pid(role: Role): number | undefined;
  /** Whether the process the suite started last for this role still runs (it did not exit on its own). */
  alive(role: Role): boolean;
  /** Resident set size of the process in bytes, read from /proc. */
  rss(role: Role): number | undefined;
  /**
   * The tail (4000 characters) of everything the role's processes wrote, or of what they wrote
   * since `outputLength` returned `since`: for failure messages.
   */
  output(role: Role, since?: number): string;
  /** How much the role's processes have written so far (a mark for `output`). */
  outputLength(role: Role): number;
  close(): Promise<void>;
}

export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const random = options.random ?? Math.random;
  const postgres = await startEmbeddedPostgres({
    maxConnections: options.maxConnections,
    settings: options.postgresSettings,
  });
  const admin = new pg.Client({ connectionString: postgres.adminUrl });
  await admin.connect();
  await admin.query('CREATE DATABASE runstream');
  await admin.end();
  const databaseUrl = postgres.adminUrl.replace(/\/postgres$/, '/runstream');
  await migrate({ url: databaseUrl });
  let processUrl = databaseUrl;
  if (options.connectionLimit !== undefined) {
    const db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    // Not a superuser: a role's connection limit does not bind superusers.
    await db.query(
      `CREATE ROLE runstream_app LOGIN PASSWORD 'runstream' CONNECTION LIMIT ${options.connectionLimit}`,
    );
    await db.query('GRANT pg_read_all_data, pg_write_all_data TO runstream_app');
    await db.end();
    const url = new URL(databaseUrl);
    url.username = 'runstream_app';
    url.password = 'runstream';
    processUrl = url.toString();
  }
  const nats = options.bus === 'nats' ? await startNatsServer() : undefined;

  const busChaos = options.network
    ? createBusMessageChaos({ protocol: nats ? 'nats' : 'postgres', random })
    : undefined;
  const network = options.network
    ? await startLinks(postgres.port, nats?.port, busChaos!, random)
    : undefined;
  const databaseUrlOf = (role: Role): string =>
    network ? network[role].database.url(processUrl) : processUrl;
  const busOf = (role: 'api' | 'outbox-worker'): string => {
    if (!nats) return 'postgres';
    return network?.[role].nats ? network[role].nats.url(nats.url) : nats.url;
  };

  const port = await freePort();
  const apiUrl = `http://127.0.0.1:${port}`;
  const tenants = options.tenants ?? [];
  const base: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'warn' };
  const envs: Record<Role, NodeJS.ProcessEnv> = {
    api: {
      ...base,
      DATABASE_URL: databaseUrlOf('api'),
      RUNSTREAM_BUS: busOf('api'),
      RUNSTREAM_API_KEYS: tenants.map((t) => `${t.name}:${t.key}`).join(','),
      HOST: '127.0.0.1',
      PORT: String(port),
      RUNSTREAM_RATE_LIMIT_MAX: '0',
      ...options.env?.api,
    },
    'outbox-worker': {
      ...base,
      DATABASE_URL: databaseUrlOf('outbox-worker'),
      RUNSTREAM_BUS: busOf('outbox-worker'),
      RUNSTREAM_OUTBOX_METRICS_PORT: '0',
      ...options.env?.['outbox-worker'],
    },
    'run-worker': {
      ...base,
      RUNSTREAM_RUN_WORKER_METRICS_PORT: '0',
      DATABASE_URL: databaseUrlOf('run-worker'),
      ...options.env?.['run-worker'],
    },
  };
  const running = new Map<Role, Spawned>();
  const outputs = new Map<Role, string>();

  const start = async (role: Role): Promise<void> => {
    const spawned = spawnApp(role, { env: envs[role] });
    running.set(role, spawned);
    const exitedEarly = (): void => {
      if (spawned.child.exitCode !== null)
        throw new Error(`${role} exited with ${spawned.child.exitCode}:\n${spawned.output()}`);
    };
    if (role === 'api') {
      await waitFor('the api to be ready', async () => {
        exitedEarly();
        // A readiness probe that hangs (a silent database) must count as not ready, not hang us.
        return (await fetch(`${apiUrl}/readyz`, { signal: AbortSignal.timeout(2000) })).ok;
      });
    } else {
      // The workers' readiness is not the suite's to assume: up means alive with its first
      // connections open, seen from the server's side.
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
  // The api takes runs of a graph once a run-worker has registered it.
  await waitFor('the run-worker to register its graphs', async () => {
    const db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    try {
      const { rows } = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM graph_registrations WHERE name = 'synthetic'`,
      );
      return rows[0]?.n === 1;
    } finally {
      await db.end();
    }
  });
  const extraRunWorkers: Spawned[] = [];
  for (let i = 1; i < (options.runWorkers ?? 1); i++) {
    extraRunWorkers.push(spawnApp('run-worker', { env: envs['run-worker'] }));
  }

  const everything = (role: Role): string =>
    (outputs.get(role) ?? '') + (running.get(role)?.output() ?? '');
  const links = (role: Role): TcpProxy[] => {
    const own = network?.[role];
    return own ? [own.database, ...(own.nats ? [own.nats] : [])] : [];
  };
  return {
    bus: options.bus,
    apiUrl,
    databaseUrl,
    postgres,
    nats,
    tenants,
    network,
    busChaos,
    links,
    busLink: (role) => (nats ? network?.[role].nats : network?.[role].database),
    healNetwork() {
      for (const role of ROLES) for (const link of links(role)) link.heal();
      if (busChaos) Object.assign(busChaos.rates, { drop: 0, duplicate: 0 });
    },
    kill,
    start,
    async addRunWorker() {
      const before = await connectionsOf(databaseUrl, 'runstream-run-worker');
      const spawned = spawnApp('run-worker', { env: envs['run-worker'] });
      extraRunWorkers.push(spawned);
      await waitFor('the added run-worker to connect', async () => {
        if (spawned.child.exitCode !== null)
          throw new Error(`run-worker exited with ${spawned.child.exitCode}:\n${spawned.output()}`);
        return (await connectionsOf(databaseUrl, 'runstream-run-worker')) > before;
      });
    },
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
    output: (role, since = 0) => everything(role).slice(since).slice(-4000),
    outputLength: (role) => everything(role).length,
    async close() {
      await Promise.all([...running.values(), ...extraRunWorkers].map((spawned) => stop(spawned)));
      running.clear();
      if (network)
        await Promise.all(ROLES.flatMap((role) => links(role)).map((link) => link.close()));
      await nats?.close();
      await postgres.close();
    },
  };
}

/** One proxy per process and server, so a fault can hit one process's connections and no other's. */
async function startLinks(
  postgresPort: number,
  natsPort: number | undefined,
  busChaos: BusMessageChaos,
  random: () => number,
): Promise<Record<Role, ProcessLinks>> {
  const apiBusFilter = { toClient: busChaos.filter };
  const links = async (role: Role): Promise<ProcessLinks> => {
    const carriesChaos = role === 'api';
    const database = await startTcpProxy({
      targetPort: postgresPort,
      random,
      // Resets may then hit some of a process's connections (its bus's, say) and spare the rest.
      label: postgresApplicationName,
      filter: carriesChaos && natsPort === undefined ? apiBusFilter : undefined,
    });
    const nats =
      natsPort !== undefined && role !== 'run-worker'
        ? await startTcpProxy({
            targetPort: natsPort,
            random,
            filter: carriesChaos ? apiBusFilter : undefined,
          })
        : undefined;
    return { database, nats };
  };
  return {
    api: await links('api'),
    'outbox-worker': await links('outbox-worker'),
    'run-worker': await links('run-worker'),
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
