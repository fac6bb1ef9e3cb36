import { createBus, createPostgresListener } from '@runstream/bus';
import { createGraphCatalog } from '@runstream/graph-catalog';
import {
  GRAPHS_CHANGED_CHANNEL,
  createDatabase,
  createGraphRegistryRepo,
  loadBusSigningKey,
} from '@runstream/persistence';
import {
  createLogger,
  describeBus,
  guardStartup,
  listenFailure,
  onShutdown,
  redactUrl,
  unreachable,
} from '@runstream/runtime';

import { buildApp } from './app.js';
import { readEnv } from './env.js';

const startup = guardStartup();
const env = readEnv();
const logger = createLogger('api', env.LOG_LEVEL);
const db = createDatabase({
  url: env.DATABASE_URL,
  poolSize: 20,
  applicationName: 'runstream-api',
  onConnectionError: (error) => logger.warn({ err: error }, 'database connection lost'),
});
// The key is in the database: an api that cannot reach it at start stops with one line, like any
// other start-up failure (the workers wait instead: they serve nobody until it answers).
const signingKey = await loadBusSigningKey(db.pool).catch(
  unreachable('DATABASE_URL', redactUrl(env.DATABASE_URL)),
);
const bus = await createBus(env.RUNSTREAM_BUS, {
  databaseUrl: env.DATABASE_URL,
  logger,
  name: 'runstream-api',
  // Live events are delivered only when they verify under the deployment's key (ADR 0012).
  signingKey,
}).catch(unreachable('RUNSTREAM_BUS', describeBus(env.RUNSTREAM_BUS)));
// The graphs come from the registry the workers write (the api holds no graph code): re-read on
// each NOTIFY of a registration and after a lost listening connection, and polled besides.
const graphs = createGraphCatalog({
  registry: createGraphRegistryRepo(db),
  logger,
});
const refreshGraphs = (): void =>
  void graphs
    .refresh()
    .catch((error: unknown) => logger.warn({ err: error }, 'could not re-read the graph registry'));
const graphChanges = createPostgresListener({
  url: env.DATABASE_URL,
  applicationName: 'runstream-api-graphs',
  logger,
  onNotification: refreshGraphs,
  onReconnect: refreshGraphs,
});
graphs.start();
// Not awaited: while the database is away the poll and the re-read of unknown names stand in.
void graphChanges.listen(GRAPHS_CHANGED_CHANNEL).catch(() => undefined);
const app = await buildApp({
  db,
  bus,
  graphs,
  logger,
  config: {
    apiKeys: env.RUNSTREAM_API_KEYS,
    heartbeatMs: env.RUNSTREAM_SSE_HEARTBEAT_MS,
    stallTimeoutMs: env.RUNSTREAM_SSE_STALL_TIMEOUT_MS,
    replay: env.RUNSTREAM_SSE_REPLAY,
    rateLimit: { max: env.RUNSTREAM_RATE_LIMIT_MAX, windowMs: env.RUNSTREAM_RATE_LIMIT_WINDOW_MS },
    limits: {
      maxQueuedRuns: env.RUNSTREAM_TENANT_MAX_QUEUED,
      maxStreams: env.RUNSTREAM_TENANT_MAX_STREAMS,
      pageMaxBytes: env.RUNSTREAM_EVENTS_PAGE_MAX_BYTES,
      authFailuresPerMinute: env.RUNSTREAM_AUTH_FAILURES_PER_MINUTE,
    },
    trustProxy: env.RUNSTREAM_TRUST_PROXY,
  },
});
onShutdown(
  [
    { name: 'http', run: () => app.close() },
    {
      name: 'graph registry',
      run: () => {
        graphs.close();
        return graphChanges.close();
      },
    },
    { name: 'bus', run: () => bus.close() },
    { name: 'database', run: () => db.close() },
  ],
  { logger },
);
await app.listen({ host: env.HOST, port: env.PORT }).catch((error: unknown) => {
  throw listenFailure(error, {
    host: env.HOST,
    port: env.PORT,
    hostVariable: 'HOST',
    portVariable: 'PORT',
  });
});
startup.done();
