import type { Bus } from '@runstream/bus';
import type { Database } from '@runstream/persistence';
import type { FastifyPluginAsync } from 'fastify';

import type { ApiMetrics } from '../metrics.js';

export interface HealthRoutesDeps {
  db: Database;
  bus: Bus;
  metrics: ApiMetrics;
  /** How long a readiness probe waits for each dependency. @default 2000 */
  probeTimeoutMs?: number;
}

function within<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export const healthRoutes: FastifyPluginAsync<HealthRoutesDeps> = async (
  app,
  { db, bus, metrics, probeTimeoutMs = 2000 },
) => {
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    const [database, live] = await Promise.all([
      within(
        db.pool.query('SELECT 1').then(() => true),
        probeTimeoutMs,
      ).catch(() => false),
      within(bus.ping(), probeTimeoutMs).catch(() => false),
    ]);
    const checks = {
      database: database === true ? 'ok' : 'down',
      bus: live === true ? 'ok' : 'down',
    };
    const ready = checks.database === 'ok' && checks.bus === 'ok';
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'unavailable', checks });
  });

  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );
};
