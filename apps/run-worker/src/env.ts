import {
  SHUTDOWN_DEADLINE_MS,
  databaseUrl,
  intFromEnv,
  loadEnv,
  logLevel,
} from '@runstream/runtime';
import { z } from 'zod';

/** Comma-separated module paths or package names; blanks between commas are ignored. */
const moduleList = z
  .string()
  .optional()
  .transform((value) =>
    (value ?? '')
      .split(',')
      .map((entry) => entry.trim())
      .filter(Boolean),
  );

export const EnvSchema = z.object({
  DATABASE_URL: databaseUrl,
  LOG_LEVEL: logLevel,
  /**
   * Graph modules this worker serves besides the built-in demo and synthetic: paths (relative to
   * the working directory) or package names, each exporting a graph or an array of graphs.
   */
  RUNSTREAM_GRAPHS: moduleList,
  /**
   * Runs executed at once by this process. Agent runs mostly wait, so thousands share the bounded
   * pool below (ADR 0028).
   */
  RUNSTREAM_RUN_WORKER_CONCURRENCY: intFromEnv({ min: 1, max: 10_000, default: 4 }),
  /**
   * Database connections of this process's pool, whatever its concurrency (0: concurrency + 4, at
   * most 16), plus one for the outbox wake-ups. Size the fleet so that workers x (this + 1), plus
   * the api's and outbox workers' pools, stays under PostgreSQL's max_connections; a refused
   * connection is retried, never fails a run.
   */
  RUNSTREAM_RUN_WORKER_POOL_SIZE: intFromEnv({ min: 0, max: 1000, default: 0 }),
  /** A run whose worker has not renewed its lease for this long is ended WORKER_LOST. */
  RUNSTREAM_RUN_WORKER_LEASE_MS: intFromEnv({ min: 100, max: 3_600_000, default: 30_000 }),
  /** How often the worker looks for queued runs while idle (a slot freeing up looks at once). */
  RUNSTREAM_RUN_WORKER_POLL_MS: intFromEnv({ min: 5, max: 60_000, default: 250 }),
  /** How often running runs are checked for cancel requests; at most 1 s, as the contract says. */
  RUNSTREAM_RUN_WORKER_CANCEL_POLL_MS: intFromEnv({ min: 10, max: 1000, default: 250 }),
  /** How often the worker looks for runs whose lease expired. */
  RUNSTREAM_RUN_WORKER_REAP_MS: intFromEnv({ min: 10, max: 600_000, default: 2000 }),
  /**
   * On SIGTERM, how long in-flight runs may finish before they end run.failed WORKER_SHUTDOWN. Cancelling them and
   * closing take the rest of the shutdown deadline: at least 1.5 s of it, 2.5 s by default.
   */
  RUNSTREAM_RUN_WORKER_DRAIN_MS: intFromEnv({
    min: 0,
    max: SHUTDOWN_DEADLINE_MS - 1500,
    default: SHUTDOWN_DEADLINE_MS - 2500,
  }),
  /** The /healthz, /readyz and /metrics endpoint; 0 picks a free port (logged as `metricsPort`). */
  RUNSTREAM_RUN_WORKER_METRICS_PORT: intFromEnv({ min: 0, max: 65_535, default: 9465 }),
  /** Loopback by default: the endpoint has no auth. A container sets 0.0.0.0. */
  RUNSTREAM_RUN_WORKER_METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  /** Runs of one tenant running at once over all workers; claims go round robin across tenants. */
  RUNSTREAM_TENANT_MAX_RUNNING: intFromEnv({ min: 1, max: 1_000_000, default: 16 }),
  /** Events a run's nodes may emit (lifecycle events aside); over it, run.failed LIMIT_EXCEEDED. */
  RUNSTREAM_RUN_MAX_EVENTS: intFromEnv({ min: 1, max: 2_147_483_647, default: 100_000 }),
  /** Summed bytes of the `data` of those events; over it, run.failed LIMIT_EXCEEDED. */
  RUNSTREAM_RUN_MAX_BYTES: intFromEnv({
    min: 1,
    max: Number.MAX_SAFE_INTEGER,
    default: 268_435_456,
  }),
  /** Wall time of one run, in ms (at most about 24.8 days, a timer's range); over it, LIMIT_EXCEEDED. */
  RUNSTREAM_RUN_MAX_DURATION_MS: intFromEnv({ min: 1, max: 2_147_483_647, default: 3_600_000 }),
});

export type Env = z.output<typeof EnvSchema>;

/** The pool's size: RUNSTREAM_RUN_WORKER_POOL_SIZE, else one per slot plus the loops', at most 16. */
export const runWorkerPoolSize = (env: Env): number =>
  env.RUNSTREAM_RUN_WORKER_POOL_SIZE > 0
    ? Math.max(2, env.RUNSTREAM_RUN_WORKER_POOL_SIZE)
    : Math.min(env.RUNSTREAM_RUN_WORKER_CONCURRENCY + 4, 16);

export const parseEnv = (env: NodeJS.ProcessEnv = process.env): Env => loadEnv(EnvSchema, env);
