import { createBus, createPostgresListener } from '@runstream/bus';
import { createOutboxMetrics, createOutboxWorker } from '@runstream/outbox';
import {
  OUTBOX_WAKEUP_CHANNEL,
  createDatabase,
  createOutboxRepo,
  loadBusSigningKey,
} from '@runstream/persistence';
import {
  type Dependency,
  createLogger,
  describeBus,
  guardStartup,
  onShutdown,
  startHealthServer,
  unreachable,
  waitForDependency,
} from '@runstream/runtime';

import { parseEnv } from './env.js';

const startup = guardStartup();
const env = parseEnv();
const logger = createLogger('outbox-worker', env.LOG_LEVEL);

const db = createDatabase({
  url: env.DATABASE_URL,
  poolSize: 4,
  applicationName: 'runstream-outbox-worker',
  onConnectionError: (error) => logger.warn({ err: error }, 'database connection lost'),
});
const database: Dependency = {
  name: 'database',
  variable: 'DATABASE_URL',
  check: () => db.pool.query('SELECT 1'),
};
const outbox = createOutboxRepo(db);
const metrics = createOutboxMetrics(outbox);
// The bus signs with the deployment's key, which lives in the database (ADR 0012): the bus connects
// now (an unreachable one stops the start with one line), and gets its key once the database answers.
let signingKey: Uint8Array | undefined;
const bus = await createBus(env.RUNSTREAM_BUS, {
  databaseUrl: env.DATABASE_URL,
  logger,
  name: 'runstream-outbox-worker-bus',
  signingKey: () => signingKey,
}).catch(unreachable('RUNSTREAM_BUS', describeBus(env.RUNSTREAM_BUS)));
const worker = createOutboxWorker(
  { db, outbox, bus, logger, metrics },
  {
    pollIntervalMs: env.RUNSTREAM_OUTBOX_POLL_INTERVAL_MS,
    maxRuns: env.RUNSTREAM_OUTBOX_MAX_RUNS,
    maxEventsPerRun: env.RUNSTREAM_OUTBOX_MAX_EVENTS_PER_RUN,
    maxBytes: env.RUNSTREAM_OUTBOX_MAX_BYTES,
    maxAttempts: env.RUNSTREAM_OUTBOX_MAX_ATTEMPTS,
    retentionMs: env.RUNSTREAM_OUTBOX_RETENTION_MS,
    retentionBatchSize: env.RUNSTREAM_OUTBOX_RETENTION_BATCH,
  },
);
const wakeups = createPostgresListener({
  url: env.DATABASE_URL,
  logger,
  applicationName: 'runstream-outbox-worker-wakeup',
  onNotification: () => worker.wake(),
  // Wake-ups sent while the listener was down are lost; look at once.
  onReconnect: () => worker.wake(),
});
const health = await startHealthServer({
  host: env.RUNSTREAM_OUTBOX_METRICS_HOST,
  port: env.RUNSTREAM_OUTBOX_METRICS_PORT,
  hostVariable: 'RUNSTREAM_OUTBOX_METRICS_HOST',
  portVariable: 'RUNSTREAM_OUTBOX_METRICS_PORT',
  dependencies: [database, { name: 'bus', variable: 'RUNSTREAM_BUS', check: () => bus.ping() }],
  metrics: metrics.registry,
});
logger.info({ metricsPort: health.port }, 'health and metrics endpoint listening');

const stop = new AbortController();
let running: Promise<void> | undefined;
const shutdown = onShutdown(
  [
    { name: 'outbox loop', run: () => (stop.abort(), running) },
    { name: 'wake-up listener', run: () => wakeups.close() },
    { name: 'health server', run: () => health.close() },
    { name: 'bus', run: () => bus.close() },
    { name: 'database', run: () => db.close() },
  ],
  { logger },
);

// Publishing starts once the database answers: until then the process says why, once, and waits.
if (await waitForDependency(database, { logger, signal: shutdown.signal })) {
  signingKey = await loadBusSigningKey(db.pool);
  // A stop that comes while LISTEN is on its way closes the listener under it: not a failed start.
  await wakeups.listen(OUTBOX_WAKEUP_CHANNEL).catch((error: unknown) => {
    if (!shutdown.signal.aborted) throw error;
  });
  if (!shutdown.signal.aborted) {
    running = worker.run(stop.signal);
    logger.info({ bus: env.RUNSTREAM_BUS.kind, metricsPort: health.port }, 'outbox worker started');
  }
}
startup.done();
