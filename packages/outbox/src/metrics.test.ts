import { describe, expect, it } from 'vitest';

import { createOutboxMetrics, type OutboxMetricsHooks } from './metrics.js';

describe('createOutboxMetrics', () => {
  it("serves as the loop's hooks, and reads the lag and the parked runs when scraped", async () => {
    let lag = 1.5;
    const metrics = createOutboxMetrics({
      lagSeconds: async () => lag,
      parkedRuns: async () => 2,
    });
    const hooks: OutboxMetricsHooks = metrics;
    hooks.published.inc(3);
    hooks.published.inc();
    hooks.parked.inc();
    hooks.failures.inc({ kind: 'transient' });
    hooks.failures.inc({ kind: 'run' });
    hooks.failures.inc({ kind: 'run' });
    hooks.publishDuration.startTimer()();

    const text = await metrics.registry.metrics();
    expect(text).toMatch(/^runstream_outbox_events_published_total 4$/m);
    expect(text).toMatch(/^runstream_outbox_runs_parked_total 1$/m);
    expect(text).toMatch(/^runstream_outbox_publish_failures_total\{kind="transient"\} 1$/m);
    expect(text).toMatch(/^runstream_outbox_publish_failures_total\{kind="run"\} 2$/m);
    expect(text).toMatch(/^runstream_outbox_publish_duration_seconds_count 1$/m);
    expect(text).toMatch(/^runstream_outbox_lag_seconds 1.5$/m);
    expect(text).toMatch(/^runstream_outbox_parked_runs 2$/m);
    // Default process metrics come along on the same registry.
    expect(text).toMatch(/^process_cpu_seconds_total /m);

    lag = 0;
    expect(await metrics.registry.metrics()).toMatch(/^runstream_outbox_lag_seconds 0$/m);
  });
});
