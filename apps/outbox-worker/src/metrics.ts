import type { OutboxRepo } from '@runstream/persistence';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The worker's Prometheus metrics, on a registry of its own. */
export function createOutboxMetrics(outbox: OutboxRepo) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    lag: new Gauge({
      name: 'runstream_outbox_lag_seconds',
      help: 'Age of the oldest unpublished, unparked outbox row (0 when none waits).',
      registers: [registry],
      async collect() {
        this.set(await outbox.lagSeconds());
      },
    }),
    parkedRuns: new Gauge({
      name: 'runstream_outbox_parked_runs',
      help: 'Runs parked after repeated publish failures.',
      registers: [registry],
      async collect() {
        this.set(await outbox.parkedRuns());
      },
    }),
    published: new Counter({
      name: 'runstream_outbox_events_published_total',
      help: 'Events published to the live bus and marked published.',
      registers: [registry],
    }),
    publishDuration: new Histogram({
      name: 'runstream_outbox_publish_duration_seconds',
      help: 'Time for the bus to accept one batch of messages.',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    failures: new Counter({
      name: 'runstream_outbox_publish_failures_total',
      help: 'Failed publishes: transient (bus unavailable, retried without counting) or run (counted towards parking).',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    parked: new Counter({
      name: 'runstream_outbox_runs_parked_total',
      help: 'Runs this process parked.',
      registers: [registry],
    }),
  };
}

export type OutboxMetrics = ReturnType<typeof createOutboxMetrics>;
