import { createDefaultGraphRegistry, createRunWorker } from '@runstream/orchestrator';
import { createDatabase, createOutboxWakeup, createRepositories } from '@runstream/persistence';
import { createLogger, onShutdown } from '@runstream/runtime';

import { parseEnv } from './env.js';

const env = parseEnv();
const logger = createLogger('run-worker', env.LOG_LEVEL);

// One connection per run slot, plus the claim, heartbeat and reaper loops and the wake-ups.
const db = createDatabase({
  url: env.DATABASE_URL,
  poolSize: env.RUNSTREAM_RUN_WORKER_CONCURRENCY + 4,
  applicationName: 'runstream-run-worker',
  onConnectionError: (error) => logger.warn({ err: error }, 'database connection lost'),
});
const repos = createRepositories(db);
const worker = createRunWorker(
  {
    leases: repos.leases,
    events: repos.events,
    wakeup: createOutboxWakeup(db.pool),
    registry: createDefaultGraphRegistry(),
    logger,
  },
  {
    concurrency: env.RUNSTREAM_RUN_WORKER_CONCURRENCY,
    leaseMs: env.RUNSTREAM_RUN_WORKER_LEASE_MS,
    pollMs: env.RUNSTREAM_RUN_WORKER_POLL_MS,
    cancelPollMs: env.RUNSTREAM_RUN_WORKER_CANCEL_POLL_MS,
    reapMs: env.RUNSTREAM_RUN_WORKER_REAP_MS,
    tenantMaxRunning: env.RUNSTREAM_TENANT_MAX_RUNNING,
    limits: {
      maxEvents: env.RUNSTREAM_RUN_MAX_EVENTS,
      maxBytes: env.RUNSTREAM_RUN_MAX_BYTES,
      maxDurationMs: env.RUNSTREAM_RUN_MAX_DURATION_MS,
    },
  },
);
worker.start();

onShutdown(
  [
    { name: 'run worker', run: () => worker.stop({ drainMs: env.RUNSTREAM_RUN_WORKER_DRAIN_MS }) },
    { name: 'database', run: () => db.close() },
  ],
  { logger, deadlineMs: 9500 },
);
