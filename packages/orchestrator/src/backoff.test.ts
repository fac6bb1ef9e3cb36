import { describe, expect, it } from 'vitest';

import { backoffDelay } from './backoff.js';

describe('backoffDelay', () => {
  it('doubles from the base up to the maximum, half of it random', () => {
    const low = (attempt: number) => backoffDelay(attempt, { baseMs: 100, maxMs: 1000 }, () => 0);
    const high = (attempt: number) => backoffDelay(attempt, { baseMs: 100, maxMs: 1000 }, () => 1);
    expect([0, 1, 2, 3, 4, 50].map(low)).toEqual([50, 100, 200, 400, 500, 500]);
    expect([0, 1, 2, 3, 4, 50].map(high)).toEqual([100, 200, 400, 800, 1000, 1000]);
  });
});
