import { formatEnvError } from '@runstream/runtime';
import { describe, expect, it } from 'vitest';

import { EnvSchema } from './env.js';

const base = { DATABASE_URL: 'postgres://u@h/db' };

function problem(env: Record<string, string>): string {
  const result = EnvSchema.safeParse(env);
  if (result.success) throw new Error('expected a failure');
  return formatEnvError(result.error);
}

describe('outbox-worker environment', () => {
  it('has the documented defaults', () => {
    expect(EnvSchema.parse(base)).toMatchObject({
      RUNSTREAM_BUS: { kind: 'postgres' },
      RUNSTREAM_OUTBOX_POLL_INTERVAL_MS: 500,
      RUNSTREAM_OUTBOX_MAX_RUNS: 32,
      RUNSTREAM_OUTBOX_MAX_ATTEMPTS: 5,
      RUNSTREAM_OUTBOX_RETENTION_MS: 3_600_000,
      RUNSTREAM_OUTBOX_METRICS_PORT: 9464,
    });
  });

  it('names the variable at fault', () => {
    expect(problem({})).toMatch(/^DATABASE_URL: /);
    expect(problem({ ...base, RUNSTREAM_OUTBOX_POLL_INTERVAL_MS: '5' })).toBe(
      'RUNSTREAM_OUTBOX_POLL_INTERVAL_MS: must be a whole number from 10 to 60000',
    );
    expect(problem({ ...base, RUNSTREAM_BUS: 'kafka://x' })).toMatch(/^RUNSTREAM_BUS: /);
  });
});
