import type { Bus } from '@runstream/bus';
import type { Database } from '@runstream/persistence';
import { ErrorBodySchema } from '@runstream/contract';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';

import type { ApiMetrics } from '../metrics.js';
import { errorResponses, jsonResponse } from '../openapi.js';

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

const Liveness = z.object({ status: z.literal('ok') });

const Readiness = z.object({
  status: z.enum(['ready', 'unavailable']),
  checks: z.object({ database: z.enum(['ok', 'down']), bus: z.enum(['ok', 'down']) }),
});

/** Probes and metrics: no key, no rate limit, for the platform rather than for clients. */
const operations = { tags: ['operations'], security: [] };

export const healthRoutes: FastifyPluginAsyncZod<HealthRoutesDeps> = async (
  app,
  { db, bus, metrics, probeTimeoutMs = 2000 },
) => {
  app.get(
    '/healthz',
    {
      schema: {
        ...operations,
        operationId: 'getLiveness',
        summary: 'Liveness: 200 while the process lives',
        response: {
          200: jsonResponse('The process lives', Liveness),
          ...errorResponses([], 'public'),
        },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        ...operations,
        operationId: 'getReadiness',
        summary: 'Readiness: whether the database and the bus answer',
        response: {
          200: jsonResponse('Both answer', Readiness),
          ...errorResponses([], 'public'),
          // A shutdown answers every route but /healthz with UNAVAILABLE in the error shape.
          503: jsonResponse(
            'The database or the bus does not answer (checks say which); or UNAVAILABLE: the ' +
              'server is shutting down',
            z.union([Readiness, ErrorBodySchema]),
          ),
        },
      },
    },
    async (_request, reply) => {
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
      return reply
        .code(ready ? 200 : 503)
        .send({ status: ready ? 'ready' : 'unavailable', checks });
    },
  );

  app.get(
    '/metrics',
    {
      schema: {
        ...operations,
        operationId: 'getMetrics',
        summary: 'Metrics in the Prometheus text format',
        response: {
          200: {
            description: "The api's counters, gauges and histograms",
            content: { 'text/plain': { schema: z.string() } },
          },
          ...errorResponses([], 'public'),
        },
      },
    },
    async (_request, reply) =>
      reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );
};
