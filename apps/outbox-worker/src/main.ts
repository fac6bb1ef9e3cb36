import { createBus, createPostgresListener } from '@runstream/bus';
import {
  OUTBOX_WAKEUP_CHANNEL,
  createDatabase,
  createOutboxRepo,
  loadBusSigningKey,
} from '@runstream/persistence';
import { createLogger, onShutdown } from '@runstream/runtime';

import { parseEnv } from './env.js';
import { createOutboxMetrics, startMetricsServer } from './metrics.js';
import { createOutboxWorker } from './outbox-worker.js';

const env = parseEnv();
const logger = createLogger('outbox-worker', env.LOG_LEVEL);

const db = createDatabase({
  url: env.DATABASE_URL,
  poolSize: 4,
  applicationName: 'runstream-outbox-worker',
  onConnectionError: (error) => logger.warn({ err: error }, 'database connection lost'),
});
const outbox = createOutboxRepo({ prisma: db.prisma });
const metrics = createOutboxMetrics(outbox);
const bus = await createBus(env.RUNSTREAM_BUS, {
  databaseUrl: env.DATABASE_URL,
  logger,
  name: 'runstream-outbox-worker-bus',
  // Every published event is signed with the deployment's key (ADR 0012).
  signingKey: await loadBusSigningKey(db.pool),
}).catch((error: unknown) => {
  // An unreachable bus, or one that refuses the credentials, stops the start with one line that
  // names the variable (the message never holds the credentials), not a stack trace.
  process.stderr.write(
    `RUNSTREAM_BUS: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});
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
await wakeups.listen(OUTBOX_WAKEUP_CHANNEL);
const { server, port } = await startMetricsServer(metrics.registry, {
  host: env.RUNSTREAM_OUTBOX_METRICS_HOST,
  port: env.RUNSTREAM_OUTBOX_METRICS_PORT,
});

const stop = new AbortController();
const running = worker.run(stop.signal);
logger.info({ bus: env.RUNSTREAM_BUS.kind, metricsPort: port }, 'outbox worker started');

onShutdown(
  [
    { name: 'outbox loop', run: () => (stop.abort(), running) },
    { name: 'wake-up listener', run: () => wakeups.close() },
    {
      name: 'metrics server',
      run: () =>
        new Promise<void>(
          (resolve) => (server.close(() => resolve()), server.closeAllConnections()),
        ),
    },
    { name: 'bus', run: () => bus.close() },
    { name: 'database', run: () => db.close() },
  ],
  { logger, deadlineMs: 9000 },
);
