import { describe, expect, it } from 'vitest';

import { type CanarySample, healToLiveOf } from './live-canary.js';

const limits = { intervalMs: 100, liveLatencyMs: 500, confirmMs: 2000 };

/** Canary events every 100 ms from `from` to `to`, each arriving `latency(committedAt)` later. */
function events(from: number, to: number, latency: (at: number) => number): CanarySample[] {
  const out: CanarySample[] = [];
  for (let at = from; at < to; at += 100)
    out.push({ committedAt: at, arrivedAt: at + latency(at) });
  return out;
}

describe('heal to live', () => {
  it('is the arrival of the first event after the heal when delivery is live at once', () => {
    expect(
      healToLiveOf(
        events(0, 10_000, () => 20),
        5000,
        limits,
      ),
    ).toBe(20);
  });

  it('waits for a whole window of live events: a late one in it moves the answer on', () => {
    const samples = events(0, 12_000, (at) => (at === 6000 ? 900 : 20));
    expect(healToLiveOf(samples, 5000, limits)).toBe(6100 + 20 - 5000);
  });

  it.each([1000, 1500])(
    'does not take delivery by the heartbeat database check for live (a check every %i ms)',
    (checkEvery) => {
      // The bus is dead: a stream idle for a heartbeat (1 s) reads the database at its next tick,
      // so events arrive in bursts, the last of each burst with almost no latency.
      const samples = events(0, 20_000, (at) => checkEvery - (at % checkEvery));
      expect(healToLiveOf(samples, 5000, limits)).toBeUndefined();
    },
  );

  it('is undefined until the samples cover a whole window after the heal', () => {
    expect(
      healToLiveOf(
        events(0, 6500, () => 20),
        5000,
        limits,
      ),
    ).toBeUndefined();
  });
});
