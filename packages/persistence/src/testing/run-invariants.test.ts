import { describe, expect, it } from 'vitest';

import { assertEndedRun } from './run-invariants.js';

const run = (...types: string[]) => types.map((type, i) => ({ seq: i + 1, type }));

describe('assertEndedRun', () => {
  it('accepts gapless seqs ending in the one terminal event', () => {
    expect(() => assertEndedRun(run('run.queued', 'run.started', 'run.completed'))).not.toThrow();
  });

  it('refuses a gap, a run without its terminal event, two terminal events, or one that is not last', () => {
    const gap = run('run.queued', 'run.started', 'run.completed').filter((e) => e.seq !== 2);
    expect(() => assertEndedRun(gap)).toThrow(/1\.\.2/);
    expect(() => assertEndedRun(run('run.queued', 'run.started'))).toThrow(/one terminal/);
    expect(() => assertEndedRun(run('run.queued', 'run.failed', 'run.completed'))).toThrow(
      /one terminal/,
    );
    expect(() => assertEndedRun(run('run.queued', 'run.completed', 'text.delta'))).toThrow(
      /not terminal/,
    );
    expect(() => assertEndedRun([])).toThrow(/one terminal/);
  });
});
