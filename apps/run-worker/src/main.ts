import { builtInGraphs } from '@runstream/graphs';
import { createGraphRegistry, createRunWorker, loadGraphModules } from '@runstream/orchestrator';
import { createDatabase, createOutboxWakeup, createRepositories } from '@runstream/persistence';
import {
  type Dependency,
  StartupError,
  createLogger,
  guardStartup,
  onShutdown,
  startHealthServer,
  waitForDependency,
} from '@runstream/runtime';

import { parseEnv, runWorkerPoolSize } from './env.js';
import { createRunWorkerMetrics, instrumentRunWorkerDeps } from './metrics.js';

const startup = guardStartup();
const env = parseEnv();
const logger = createLogger('run-worker', env.LOG_LEVEL);
// The graphs come first: a module that cannot be loaded stops the worker before it connects, and
// a worker never serves part of what it was told to.
const registry = await loadGraphModules(env.RUNSTREAM_GRAPHS)
  .then((graphs) => createGraphRegistry([...builtInGraphs, ...graphs]))
  .catch((error: unknown) => {
    throw new StartupError(
      'INVALID_CONFIG',
      'RUNSTREAM_GRAPHS',
      error instanceof Error ? error.message : String(error),
      { cause: error },
    );
  });

// A bounded pool, whatever the concurrency (ADR 0028): runs hold a connection only for the length
// of one append, and wait for one (never fail) when all are busy or the server refuses more.
const db = createDatabase({
  url: env.DATABASE_URL,
  poolSize: runWorkerPoolSize(env),
  applicationName: 'runstream-run-worker',
  onConnectionError: (error) => logger.warn({ err: error }, 'database connection lost'),
});
// The outbox wake-up after each commit has a connection of its own: on a busy pool it would queue
// behind the appends of thousands of runs, and every event it announces would wait with it (ADR 0027).
const wakeupDb = createDatabase({
  url: env.DATABASE_URL,
  poolSize: 1,
  applicationName: 'runstream-run-worker-wakeup',
  onConnectionError: (error) => logger.warn({ err: error }, 'wake-up connection lost'),
});
const database: Dependency = {
  name: 'database',
  variable: 'DATABASE_URL',
  check: () => db.pool.query('SELECT 1'),
};
const repos = createRepositories(db);
const metrics = createRunWorkerMetrics();
const worker = createRunWorker(
  instrumentRunWorkerDeps(
    {
      leases: repos.leases,
      events: repos.events,
      graphs: repos.graphs,
      wakeup: createOutboxWakeup(wakeupDb.pool),
      registry,
      logger,
    },
    metrics,
  ),
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
metrics.countActive(() => worker.active);
const health = await startHealthServer({
  host: env.RUNSTREAM_RUN_WORKER_METRICS_HOST,
  port: env.RUNSTREAM_RUN_WORKER_METRICS_PORT,
  hostVariable: 'RUNSTREAM_RUN_WORKER_METRICS_HOST',
  portVariable: 'RUNSTREAM_RUN_WORKER_METRICS_PORT',
  dependencies: [database],
  metrics: metrics.registry,
});
logger.info({ metricsPort: health.port }, 'health and metrics endpoint listening');

const shutdown = onShutdown(
  [
    { name: 'run worker', run: () => worker.stop({ drainMs: env.RUNSTREAM_RUN_WORKER_DRAIN_MS }) },
    { name: 'health server', run: () => health.close() },
    { name: 'database', run: async () => void (await Promise.all([db.close(), wakeupDb.close()])) },
  ],
  { logger },
);

// Work starts once the database answers: an outage at start is then one line in the log, not a
// failed claim at every poll.
if (await waitForDependency(database, { logger, signal: shutdown.signal })) worker.start();
startup.done();
