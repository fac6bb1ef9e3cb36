import { fastifyRateLimit } from '@fastify/rate-limit';
import { fastifySSE } from '@fastify/sse';
import { fastifyStatic } from '@fastify/static';
import { fastifySwagger } from '@fastify/swagger';
import type { Bus } from '@runstream/bus';
import type { GraphRegistry } from '@runstream/orchestrator';
import { coalesceReads } from '@runstream/stream';
import { viewerAssetsDir, viewerIndexFile } from '@runstream/viewer';
import {
  type Database,
  type EventVisibility,
  createOutboxWakeup,
  createRunEventRepo,
  createRunRepo,
} from '@runstream/persistence';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import {
  type ZodTypeProvider,
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
} from 'fastify-type-provider-zod';

import { type ApiKey, type Principal, createAuthenticator } from './auth.js';
import { registerErrorHandler } from './error-handler.js';
import { ApiError } from './errors.js';
import { createApiMetrics } from './metrics.js';
import { eventRoutes } from './routes/events.js';
import { healthRoutes } from './routes/health.js';
import { runRoutes } from './routes/runs.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is asking; set on every /v1 request before its body is read. */
    principal: Principal;
  }
}

/** The largest body a request may carry (the contract's 1 MiB). */
export const BODY_LIMIT = 1024 * 1024;

export interface AppConfig {
  /** `tenant:key` pairs; empty means auth off, with every request in tenant `default`. */
  apiKeys: readonly ApiKey[];
  /** @default 15000 */
  heartbeatMs?: number;
  /** A stream whose client has not read for this long is cut off. @default 30000 */
  stallTimeoutMs?: number;
  /** Live events a stream holds while its client is busy. @default 1000 */
  maxBufferedEvents?: number;
  /** How often a stream reads the database while the bus is down. @default 1000 */
  streamPollMs?: number;
  /**
   * What the stream's replay and gap fill, and the JSON events pages, read: `published` events
   * only (up to each run's published mark: nothing a client sees is ahead of the bus), or every
   * `committed` one (sooner, and also while the outbox or the bus is down).
   * @default 'published'
   */
  replay?: EventVisibility;
  /** Requests per key (per client address when auth is off) per window; 0 turns limiting off. @default { max: 1200, windowMs: 60000 } */
  rateLimit?: { max: number; windowMs: number };
}

export interface AppDeps {
  db: Database;
  bus: Bus;
  graphs: GraphRegistry;
  config: AppConfig;
  /** A pino logger; none when absent. */
  logger?: FastifyBaseLogger;
}

/** Builds the api without listening: tests use inject() or listen on it themselves. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { db, bus, graphs, config } = deps;
  const app = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger } : { logger: false }),
    bodyLimit: BODY_LIMIT,
    // Streams are ended in preClose; whatever idles after that is closed with the server.
    forceCloseConnections: 'idle',
    return503OnClosing: true,
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  const runs = createRunRepo({ prisma: db.prisma });
  const events = createRunEventRepo({ prisma: db.prisma, pool: db.pool });
  const metrics = createApiMetrics();
  const openStreams = new Set<AbortController>();
  const auth = createAuthenticator(config.apiKeys);
  if (!auth.enabled)
    app.log.warn('RUNSTREAM_API_KEYS is unset: auth is off, every request is tenant "default"');

  registerErrorHandler(app);
  // JSON only: any other body type is a 415, and an empty JSON body is no body (cancel needs none).
  app.removeAllContentTypeParsers();
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') {
      done(null, undefined);
      return;
    }
    void parseJson(request, text, done);
  });

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.httpRequests.inc({ method: request.method, route, status: String(reply.statusCode) });
    if (reply.getHeader('content-type') !== 'text/event-stream') {
      metrics.httpDuration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
    }
  });
  // SIGTERM: open streams end now (clients resume elsewhere with Last-Event-ID), so that close()
  // does not wait for runs that may last hours.
  app.addHook('preClose', async () => {
    for (const controller of openStreams) controller.abort();
  });

  await app.register(fastifySwagger, {
    openapi: {
      info: { title: 'Runstream API', version: '1.0.0' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });
  await app.register(fastifySSE);

  await app.register(healthRoutes, { db, bus, metrics });
  app.get('/docs/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  // The run viewer: static files, same origin as the api, so its EventSource needs no CORS.
  await app.register(fastifyStatic, {
    root: viewerAssetsDir,
    prefix: '/',
    index: [viewerIndexFile],
    wildcard: false,
    schemaHide: true,
  });

  await app.register(
    async (v1) => {
      v1.decorateRequest('principal', { getter: () => ({ tenant: '', keyId: '' }) });
      // Runs before the body is read: a wrong key never costs a parse, and never reaches a handler.
      v1.addHook('onRequest', async (request) => {
        const principal = auth.authenticate(request.headers.authorization);
        if (!principal)
          throw new ApiError(
            'UNAUTHORIZED',
            401,
            'missing or wrong API key (Authorization: Bearer <key>)',
          );
        Object.defineProperty(request, 'principal', { value: principal, enumerable: true });
      });
      const limit = config.rateLimit ?? { max: 1200, windowMs: 60_000 };
      if (limit.max > 0) {
        await v1.register(fastifyRateLimit, {
          max: limit.max,
          timeWindow: limit.windowMs,
          keyGenerator: (request) =>
            request.principal.keyId + (auth.enabled ? '' : `@${request.ip}`),
          errorResponseBuilder: (_request, context) =>
            new ApiError(
              'RATE_LIMITED',
              context.statusCode,
              `rate limit: ${context.max} requests per ${context.after}`,
              {
                retryAfter: context.after,
              },
            ),
        });
      }
      const wakeup = createOutboxWakeup(db.pool);
      await v1.register(runRoutes, { runs, graphs, wakeup });
      await v1.register(eventRoutes, {
        runs,
        events,
        streamReads: coalesceReads(events),
        bus,
        metrics,
        openStreams,
        stream: {
          heartbeatMs: config.heartbeatMs ?? 15_000,
          stallTimeoutMs: config.stallTimeoutMs ?? 30_000,
          maxBufferedEvents: config.maxBufferedEvents ?? 1000,
          pollIntervalMs: config.streamPollMs ?? 1000,
          replay: config.replay ?? 'published',
        },
      });
    },
    { prefix: '/v1' },
  );
  return app;
}
