import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { DEFAULT_BACKOFF, backoffDelay, parseRetryAfter } from './backoff.js';

describe('backoffDelay', () => {
  it('draws each wait uniformly below a bound that doubles up to the cap (full jitter)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, random) => {
          const bound = Math.min(5000, 250 * 2 ** (attempt - 1));
          const delay = backoffDelay(attempt, DEFAULT_BACKOFF, undefined, () => random);
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThan(bound);
          expect(delay).toBe(Math.floor(random * bound));
        },
      ),
    );
  });

  it('spreads clients that failed together: waits differ, unlike a fixed exponential backoff', () => {
    const waits = new Set(Array.from({ length: 50 }, () => backoffDelay(5, DEFAULT_BACKOFF)));
    expect(waits.size).toBeGreaterThan(25);
  });

  it("takes the server's Retry-After at its word", () => {
    expect(backoffDelay(1, DEFAULT_BACKOFF, 7000, () => 0.5)).toBe(7000);
    expect(backoffDelay(9, DEFAULT_BACKOFF, 0, () => 0.5)).toBe(0);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-12-01T10:00:00Z');
  it.each([
    ['3', 3000],
    [' 0 ', 0],
    ['Tue, 01 Dec 2026 10:00:05 GMT', 5000],
    ['Tue, 01 Dec 2026 09:00:00 GMT', 0],
  ])('%j is %d ms', (header, ms) => expect(parseRetryAfter(header, now)).toBe(ms));

  it.each([[null], ['soon'], ['-1'], ['1.5']])('%j is no Retry-After', (header) =>
    expect(parseRetryAfter(header, now)).toBeUndefined(),
  );
});
