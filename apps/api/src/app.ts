import { fastifyHelmet } from '@fastify/helmet';
import { fastifyRateLimit } from '@fastify/rate-limit';
import { fastifySSE } from '@fastify/sse';
import { fastifyStatic } from '@fastify/static';
import type { Bus } from '@runstream/bus';
import type { GraphCatalog } from '@runstream/graph-catalog';
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
  serializerCompiler,
  validatorCompiler,
} from 'fastify-type-provider-zod';

import { createAuthFailureGuard } from './auth-failure-guard.js';
import { type ApiKey, type Principal, createAuthenticator } from './auth.js';
import { registerErrorHandler } from './error-handler.js';
import { ApiError } from './errors.js';
import { clientErrorHandler, frameworkErrors } from './framework-errors.js';
import { createApiMetrics } from './metrics.js';
import { registerOpenApi } from './openapi.js';
import { PLANNED_CLOSE, eventRoutes } from './routes/events.js';
import { graphRoutes } from './routes/graphs.js';
import { healthRoutes } from './routes/health.js';
import { runRoutes } from './routes/runs.js';
import { findUnstorableText } from './unstorable-text.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is asking; set on every /v1 request before its body is read. */
    principal: Principal;
  }
}

/** How long a shutdown waits for open streams to write their reconnect frame and end. */
const STREAM_CLOSE_GRACE_MS = 2000;

/** The largest body a request may carry (the contract's 1 MiB). */
const BODY_LIMIT = 1024 * 1024;

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
  /**
   * How long a client may take to send a request: its head, and the whole request with its body.
   * Past either the connection is closed (408), so half-sent requests cannot hold sockets open.
   * A response in progress (an SSE stream) is not bounded by these.
   * @default { headersMs: 10000, requestMs: 30000 }
   */
  timeouts?: { headersMs?: number; requestMs?: number };
  /** Per-tenant and per-client limits; each a positive whole number. */
  limits?: Partial<ApiLimits>;
  /**
   * Proxies whose X-Forwarded-For is believed, as IP addresses, CIDR ranges or the names
   * `loopback`, `linklocal`, `uniquelocal`; the client address is then the nearest untrusted hop.
   * Empty: none, the peer's own address is the client's.
   * @default []
   */
  trustProxy?: readonly string[];
}

interface ApiLimits {
  /** Queued runs one tenant may have; past it a create is 429 QUOTA_EXCEEDED. @default 1000 */
  maxQueuedRuns: number;
  /** Open SSE streams of one tenant in this process; past it 429 TOO_MANY_STREAMS. @default 1000 */
  maxStreams: number;
  /** Bytes of event data in one JSON events page (and one SSE replay read). @default 4194304 */
  pageMaxBytes: number;
  /** Failed authentications per client address per minute; past it 429 RATE_LIMITED. @default 60 */
  authFailuresPerMinute: number;
}

/** The contract's defaults for ApiLimits. */
const DEFAULT_LIMITS: ApiLimits = {
  maxQueuedRuns: 1000,
  maxStreams: 1000,
  pageMaxBytes: 4 * 1024 * 1024,
  authFailuresPerMinute: 60,
};

export interface AppDeps {
  db: Database;
  bus: Bus;
  /**
   * The graphs the workers registered: a run's input is checked against them. The api holds no
   * graph code; main.ts refreshes the catalog on each registration (LISTEN).
   */
  graphs: Pick<GraphCatalog, 'check' | 'list'>;
  config: AppConfig;
  /** A pino logger; none when absent. */
  logger?: FastifyBaseLogger;
}

/** Builds the api without listening: tests use inject() or listen on it themselves. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { db, bus, graphs, config } = deps;
  const limits: ApiLimits = { ...DEFAULT_LIMITS, ...config.limits };
  const headersMs = config.timeouts?.headersMs ?? 10_000;
  const requestMs = Math.max(headersMs, config.timeouts?.requestMs ?? 30_000);
  const app = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger } : { logger: false }),
    bodyLimit: BODY_LIMIT,
    requestTimeout: requestMs,
    http: {
      headersTimeout: headersMs,
      // Node checks the two timeouts on this interval (30 s by default), which would let a
      // half-sent head live up to 40 s; a fifth of the head timeout keeps the bound within 20%.
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(headersMs / 5))),
    },
    frameworkErrors,
    clientErrorHandler,
    trustProxy: config.trustProxy?.length ? [...config.trustProxy] : false,
    // Streams are ended in preClose; whatever idles after that is closed with the server.
    forceCloseConnections: 'idle',
    return503OnClosing: false,
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  const runs = createRunRepo(db);
  const events = createRunEventRepo(db);
  const metrics = createApiMetrics();
  const openStreams = new Map<AbortController, Promise<void>>();
  const auth = createAuthenticator(config.apiKeys);
  const authFailures = createAuthFailureGuard({ maxFailures: limits.authFailuresPerMinute });
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
  // SIGTERM: open streams end now, each with a reconnect frame (clients resume elsewhere with
  // Last-Event-ID), so that close() does not wait for runs that may last hours. Requests that
  // still arrive on open connections get a 503 in the contract's shape (Fastify's own 503 is not).
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
    const ending = [...openStreams].map(([controller, ended]) => {
      controller.abort(PLANNED_CLOSE);
      return ended;
    });
    // Each stream writes its reconnect frame before the server stops; one that cannot (a hung
    // unsubscribe) does not hold the shutdown beyond the grace.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(ending),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, STREAM_CLOSE_GRACE_MS))),
    ]);
    clearTimeout(timer);
  });
  app.addHook('onRequest', async (request, reply) => {
    // Liveness is true until the process exits; everything else is refused.
    if (!closing || request.url === '/healthz') return;
    void reply.header('Connection', 'close');
    throw new ApiError('UNAVAILABLE', 'the server is shutting down: retry');
  });

  // Security headers on every answer; the CSP is what matters for the viewer: its one script is
  // a file of this origin, so nothing inline runs, and no page may frame it (its buttons act with
  // the user's key). HSTS is left to the TLS terminator, which knows whether TLS is in front.
  await app.register(fastifyHelmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'none'"],
        frameAncestors: ["'none'"],
      },
    },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    hsts: false,
  });

  await registerOpenApi(app);
  await app.register(fastifySSE);

  await app.register(healthRoutes, { db, bus, metrics });
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
      // An address that failed too often is refused before its key is even looked at, so key
      // guessing runs at a few tries a minute (whatever key it sends meanwhile).
      v1.addHook('onRequest', async (request, reply) => {
        const waitS = auth.enabled ? await authFailures.blockedFor(request.ip) : undefined;
        if (waitS !== undefined) {
          void reply.header('Retry-After', String(waitS));
          throw new ApiError(
            'RATE_LIMITED',
            `too many failed authentications from this address: retry in ${waitS} s`,
            { retryAfter: waitS },
          );
        }
        const principal = auth.authenticate(request.headers.authorization);
        if (!principal) {
          await authFailures.failed(request.ip);
          throw new ApiError(
            'UNAUTHORIZED',
            'missing or wrong API key (Authorization: Bearer <key>)',
          );
        }
        Object.defineProperty(request, 'principal', { value: principal, enumerable: true });
      });
      // Text PostgreSQL cannot store is the caller's mistake: a 400 naming the field, before
      // any schema or handler sees it (it would otherwise fail in the database as a 500).
      v1.addHook('preValidation', async (request) => {
        const field =
          findUnstorableText(request.body, 'body') ?? findUnstorableText(request.query, 'query');
        if (field === undefined) return;
        const message = 'contains U+0000 or an unpaired surrogate, which cannot be stored';
        throw new ApiError('INVALID_REQUEST', `${field}: ${message}`, {
          field,
          issues: [{ path: field, message }],
        });
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
              `rate limit: ${context.max} requests per ${context.after}`,
              {
                retryAfter: context.after,
              },
            ),
        });
      }
      const wakeup = createOutboxWakeup(db.pool);
      await v1.register(runRoutes, { runs, graphs, wakeup, maxQueuedRuns: limits.maxQueuedRuns });
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
          maxStreamsPerTenant: limits.maxStreams,
          pageMaxBytes: limits.pageMaxBytes,
          pollIntervalMs: config.streamPollMs ?? 1000,
          replay: config.replay ?? 'published',
        },
      });
      await v1.register(graphRoutes, { graphs });
    },
    { prefix: '/v1' },
  );
  return app;
}
