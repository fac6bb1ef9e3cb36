import { formatEnvError } from '@runstream/runtime';
import { describe, expect, it } from 'vitest';

import { EnvSchema, runWorkerPoolSize } from './env.js';

const base = { DATABASE_URL: 'postgres://u@h/db' };

function problem(env: Record<string, string>): string {
  const result = EnvSchema.safeParse(env);
  if (result.success) throw new Error('expected a failure');
  return formatEnvError(result.error);
}

describe('run-worker environment', () => {
  it('has the documented defaults', () => {
    expect(EnvSchema.parse(base)).toMatchObject({
      RUNSTREAM_RUN_WORKER_CONCURRENCY: 4,
      RUNSTREAM_RUN_WORKER_LEASE_MS: 30_000,
      RUNSTREAM_RUN_WORKER_CANCEL_POLL_MS: 250,
      RUNSTREAM_RUN_WORKER_DRAIN_MS: 7000,
      RUNSTREAM_RUN_WORKER_METRICS_PORT: 9465,
      RUNSTREAM_RUN_WORKER_METRICS_HOST: '127.0.0.1',
      RUNSTREAM_TENANT_MAX_RUNNING: 16,
      RUNSTREAM_RUN_MAX_EVENTS: 100_000,
      RUNSTREAM_RUN_MAX_BYTES: 268_435_456,
      RUNSTREAM_RUN_MAX_DURATION_MS: 3_600_000,
    });
  });

  it('holds up to 10,000 runs on a bounded pool (ADR 0028)', () => {
    const env = (vars: Record<string, string>) => EnvSchema.parse({ ...base, ...vars });
    expect(runWorkerPoolSize(env({}))).toBe(8);
    expect(runWorkerPoolSize(env({ RUNSTREAM_RUN_WORKER_CONCURRENCY: '10000' }))).toBe(16);
    expect(
      runWorkerPoolSize(
        env({ RUNSTREAM_RUN_WORKER_CONCURRENCY: '3000', RUNSTREAM_RUN_WORKER_POOL_SIZE: '20' }),
      ),
    ).toBe(20);
    expect(problem({ ...base, RUNSTREAM_RUN_WORKER_CONCURRENCY: '10001' })).toMatch(
      /^RUNSTREAM_RUN_WORKER_CONCURRENCY: /,
    );
  });

  it('names the variable at fault', () => {
    expect(problem({})).toMatch(/^DATABASE_URL: /);
    expect(problem({ ...base, RUNSTREAM_RUN_WORKER_CONCURRENCY: '0' })).toBe(
      'RUNSTREAM_RUN_WORKER_CONCURRENCY: must be a whole number from 1 to 10000',
    );
    for (const name of [
      'RUNSTREAM_TENANT_MAX_RUNNING',
      'RUNSTREAM_RUN_MAX_EVENTS',
      'RUNSTREAM_RUN_MAX_BYTES',
      'RUNSTREAM_RUN_MAX_DURATION_MS',
    ]) {
      expect(problem({ ...base, [name]: '0' })).toMatch(new RegExp(`^${name}: `));
    }
    // The contract's 1 s bound for a cancel to reach a run cannot be configured away.
    expect(problem({ ...base, RUNSTREAM_RUN_WORKER_CANCEL_POLL_MS: '5000' })).toMatch(
      /^RUNSTREAM_RUN_WORKER_CANCEL_POLL_MS: /,
    );
    // The drain must leave time to cancel and close inside the shutdown deadline.
    expect(problem({ ...base, RUNSTREAM_RUN_WORKER_DRAIN_MS: '9000' })).toBe(
      'RUNSTREAM_RUN_WORKER_DRAIN_MS: must be a whole number from 0 to 8000',
    );
    expect(problem({ ...base, RUNSTREAM_RUN_WORKER_METRICS_PORT: '65536' })).toMatch(
      /^RUNSTREAM_RUN_WORKER_METRICS_PORT: /,
    );
  });
});
