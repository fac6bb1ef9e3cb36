import { createBus } from '@runstream/bus';
import { createDefaultGraphRegistry } from '@runstream/orchestrator';
import { createDatabase } from '@runstream/persistence';
import { createLogger, onShutdown } from '@runstream/runtime';

import { buildApp } from './app.js';
import { readEnv } from './env.js';

const env = readEnv();
const logger = createLogger('api', env.LOG_LEVEL);
const db = createDatabase({
  url: env.DATABASE_URL,
  poolSize: 20,
  applicationName: 'runstream-api',
  onConnectionError: (error) => logger.warn({ err: error }, 'database connection lost'),
});
const bus = await createBus(env.RUNSTREAM_BUS, {
  databaseUrl: env.DATABASE_URL,
  logger,
  name: 'runstream-api',
});
const app = await buildApp({
  db,
  bus,
  graphs: createDefaultGraphRegistry(),
  logger,
  config: {
    apiKeys: env.RUNSTREAM_API_KEYS,
    heartbeatMs: env.RUNSTREAM_SSE_HEARTBEAT_MS,
    stallTimeoutMs: env.RUNSTREAM_SSE_STALL_TIMEOUT_MS,
    replay: env.RUNSTREAM_SSE_REPLAY,
    rateLimit: { max: env.RUNSTREAM_RATE_LIMIT_MAX, windowMs: env.RUNSTREAM_RATE_LIMIT_WINDOW_MS },
  },
});
onShutdown(
  [
    { name: 'http', run: () => app.close() },
    { name: 'bus', run: () => bus.close() },
    { name: 'database', run: () => db.close() },
  ],
  { logger, deadlineMs: 9000 },
);
await app.listen({ host: env.HOST, port: env.PORT });
