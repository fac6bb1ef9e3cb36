import { busConfig, databaseUrl, intFromEnv, loadEnv, logLevel } from '@runstream/runtime';
import { z } from 'zod';

export const EnvSchema = z.object({
  DATABASE_URL: databaseUrl,
  RUNSTREAM_BUS: busConfig,
  LOG_LEVEL: logLevel,
  /** Fallback poll when no wake-up notification arrives (a lost NOTIFY costs at most this). */
  RUNSTREAM_OUTBOX_POLL_INTERVAL_MS: intFromEnv({ min: 10, max: 60_000, default: 500 }),
  /** Runs claimed per transaction. */
  RUNSTREAM_OUTBOX_MAX_RUNS: intFromEnv({ min: 1, max: 1000, default: 32 }),
  /** Events read per claimed run per transaction. */
  RUNSTREAM_OUTBOX_MAX_EVENTS_PER_RUN: intFromEnv({ min: 1, max: 10_000, default: 500 }),
  /** Bytes of event data per claim beyond each run's first event (halved after a publish timeout). */
  RUNSTREAM_OUTBOX_MAX_BYTES: intFromEnv({
    min: 0,
    max: 1024 * 1024 * 1024,
    default: 4 * 1024 * 1024,
  }),
  /** Failed publishes of one run before it is parked. */
  RUNSTREAM_OUTBOX_MAX_ATTEMPTS: intFromEnv({ min: 1, max: 1000, default: 5 }),
  /** How long published outbox rows are kept. */
  RUNSTREAM_OUTBOX_RETENTION_MS: intFromEnv({ min: 0, max: 30 * 24 * 3600_000, default: 3600_000 }),
  /** Rows deleted per retention statement: small, so that no delete holds locks for long. */
  RUNSTREAM_OUTBOX_RETENTION_BATCH: intFromEnv({ min: 1, max: 100_000, default: 1000 }),
  /** 0 picks a free port (logged at start). */
  RUNSTREAM_OUTBOX_METRICS_PORT: intFromEnv({ min: 0, max: 65_535, default: 9464 }),
  RUNSTREAM_OUTBOX_METRICS_HOST: z.string().min(1).default('127.0.0.1'),
});

export type Env = z.output<typeof EnvSchema>;

export const parseEnv = (env: NodeJS.ProcessEnv = process.env): Env => loadEnv(EnvSchema, env);
