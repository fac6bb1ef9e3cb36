import {
  SHUTDOWN_DEADLINE_MS,
  databaseUrl,
  intFromEnv,
  loadEnv,
  logLevel,
} from '@runstream/runtime';
import { z } from 'zod';

export const EnvSchema = z.object({
  DATABASE_URL: databaseUrl,
  LOG_LEVEL: logLevel,
  /** Runs executed at once by this process. */
  RUNSTREAM_RUN_WORKER_CONCURRENCY: intFromEnv({ min: 1, max: 256, default: 4 }),
  /** A run whose worker has not renewed its lease for this long is ended WORKER_LOST. */
  RUNSTREAM_RUN_WORKER_LEASE_MS: intFromEnv({ min: 100, max: 3_600_000, default: 30_000 }),
  /** How often the worker looks for queued runs while idle (a slot freeing up looks at once). */
  RUNSTREAM_RUN_WORKER_POLL_MS: intFromEnv({ min: 5, max: 60_000, default: 250 }),
  /** How often running runs are checked for cancel requests; at most 1 s, as the contract says. */
  RUNSTREAM_RUN_WORKER_CANCEL_POLL_MS: intFromEnv({ min: 10, max: 1000, default: 250 }),
  /** How often the worker looks for runs whose lease expired. */
  RUNSTREAM_RUN_WORKER_REAP_MS: intFromEnv({ min: 10, max: 600_000, default: 2000 }),
  /**
   * On SIGTERM, how long in-flight runs may finish before they are cancelled. Cancelling them and
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
});

export type Env = z.output<typeof EnvSchema>;

export const parseEnv = (env: NodeJS.ProcessEnv = process.env): Env => loadEnv(EnvSchema, env);
