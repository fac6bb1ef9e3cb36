import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The api's metrics, on a registry of its own (so that apps built in one test process never clash). */
export function createApiMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    httpRequests: new Counter({
      name: 'runstream_http_requests_total',
      help: 'HTTP requests answered, by route and status',
      labelNames: ['method', 'route', 'status'] as const,
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'runstream_http_request_duration_seconds',
      help: 'Time to answer HTTP requests (SSE streams excluded)',
      labelNames: ['method', 'route'] as const,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    streamsOpen: new Gauge({
      name: 'runstream_sse_streams_open',
      help: 'SSE streams open now',
      registers: [registry],
    }),
    streamEvents: new Counter({
      name: 'runstream_sse_events_sent_total',
      help: 'Events written to SSE streams',
      registers: [registry],
    }),
    streamEnds: new Counter({
      name: 'runstream_sse_stream_ends_total',
      help: 'SSE streams ended, by reason: terminal, client (went away), stalled (cut off), shutdown, error',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
  };
}

export type ApiMetrics = ReturnType<typeof createApiMetrics>;
