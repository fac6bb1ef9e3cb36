import type { OutboxRepo } from '@runstream/persistence';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * What the loop counts as it goes (prom-client's Counter and Histogram fit): events marked
 * published, runs parked, failed publishes by kind, and how long the bus took to accept a batch.
 */
export interface OutboxMetricsHooks {
  published: { inc(value?: number): void };
  parked: { inc(value?: number): void };
  failures: { inc(labels: { kind: 'transient' | 'run' }): void };
  publishDuration: { startTimer(): () => unknown };
}

/**
 * The outbox worker's Prometheus metrics, on a registry of its own: the loop's hooks, plus the lag
 * and parked-runs gauges, read from the outbox when scraped.
 */
export function createOutboxMetrics(outbox: Pick<OutboxRepo, 'lagSeconds' | 'parkedRuns'>) {
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
