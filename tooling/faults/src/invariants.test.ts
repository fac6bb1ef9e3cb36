import { describe, expect, it } from 'vitest';

import {
  type RunFacts,
  checkAuthFlood,
  checkHealToLive,
  checkOutcome,
  checkProbe,
  checkPrompt,
  checkSlowloris,
  checkStream,
  expectedEnd,
} from './invariants.js';

const facts: RunFacts = { status: 'succeeded', lastSeq: 4, ticks: 1, createdAt: 0 };
const probe = (received: number[], duplicates = 0, gaps = 0) => ({
  runId: 'r',
  received,
  duplicates,
  gaps,
  reconnects: 0,
  stalls: 0,
  terminal: true,
  lastSeq: 4,
  drops: {},
});

describe('stream checks', () => {
  it('pass exactly 1..N', () => {
    expect(checkStream('client', 'r', [1, 2, 3, 4], facts)).toEqual([]);
    expect(checkProbe(probe([1, 2, 3, 4]), facts)).toEqual([]);
  });

  it.each([
    ['a repeat', [1, 2, 2, 3, 4]],
    ['a hole', [1, 2, 4]],
    ['a swap', [1, 3, 2, 4]],
    ['a short stream', [1, 2, 3]],
    ['more than the database holds', [1, 2, 3, 4, 5]],
  ])('flag %s', (_, received) => {
    expect(checkStream('client', 'r', received, facts)).toHaveLength(1);
  });

  it('flag repeated and missing frames seen on the wire', () => {
    expect(checkProbe(probe([1, 2, 2, 3, 4], 1), facts).map((v) => v.check)).toEqual([
      'probe (wire) stream is exactly 1..N',
      'no duplicate frame',
    ]);
  });
});

describe('outcome check', () => {
  const ended = (status: string, ticks: number, errorCode?: string): RunFacts => ({
    status,
    lastSeq: ticks + 3,
    ticks,
    errorCode,
    createdAt: 0,
  });

  it('passes a run that ended as its input asks', () => {
    expect(checkOutcome('r', ended('succeeded', 40), expectedEnd({ events: 40 }))).toEqual([]);
    expect(
      checkOutcome(
        'r',
        ended('failed', 7, 'SYNTHETIC_FAILURE'),
        expectedEnd({ events: 40, failAt: 7 }),
      ),
    ).toEqual([]);
    expect(checkOutcome('r', ended('cancelled', 3), { status: 'cancelled' })).toEqual([]);
  });

  it.each([
    ['a fault failed it', ended('failed', 17, 'PERSISTENCE_FAILED'), { events: 40 }],
    ['its worker was lost', ended('failed', 17, 'WORKER_LOST'), { events: 40, failAt: 30 }],
    ['it stopped short', ended('succeeded', 39), { events: 40 }],
  ])('flags a run when %s', (_, got, input) => {
    const [violation] = checkOutcome('r', got, expectedEnd(input));
    expect(violation?.check).toBe('run ended as its input asks');
  });
});

describe('promptness check', () => {
  const bounds = { startMs: 5000, slackMs: 10_000 };
  it('passes a run that started at once and ran its own time', () => {
    const f: RunFacts = { ...facts, createdAt: 0, startedAt: 200, finishedAt: 3200 };
    expect(checkPrompt('r', f, 2000, bounds)).toEqual([]);
  });

  it('flags a run starved in the queue, and one that never started', () => {
    expect(checkPrompt('r', { ...facts, startedAt: 9000, finishedAt: 9500 }, 100, bounds)).toEqual([
      expect.objectContaining({ check: 'run starts within 5 s' }),
    ]);
    expect(checkPrompt('r', { ...facts, status: 'queued' }, 100, bounds)[0]?.detail).toMatch(
      /never started/,
    );
  });
});

describe('attack verdicts', () => {
  it('heal to live passes within the bound only', () => {
    expect(checkHealToLive(1200, 15_000)).toEqual([]);
    expect(checkHealToLive(undefined, 15_000)).toHaveLength(1);
  });

  it('slowloris: every socket closed by the bound', () => {
    expect(checkSlowloris({ part: 'head', closedAfterMs: [10_100, 11_000] }, 12_500)).toEqual([]);
    expect(
      checkSlowloris({ part: 'head', closedAfterMs: [10_100, undefined] }, 12_500)[0]?.detail,
    ).toBe('1 of 2 sockets outlived the bound (1 still open when the suite gave up)');
  });

  it('wrong keys: throttled before the bound, with Retry-After, in the error shape', () => {
    const throttled = {
      requests: 900,
      statuses: { 401: 60, 429: 840 },
      retryAfter: true,
      badShapes: [],
    };
    expect(checkAuthFlood(throttled, 120)).toEqual([]);
    expect(
      checkAuthFlood({ ...throttled, statuses: { 401: 900 } }, 120).map((v) => v.check),
    ).toEqual(['wrong keys throttled (429 after at most 120 failures)']);
    expect(
      checkAuthFlood({ ...throttled, retryAfter: false, badShapes: ['429 Too Many'] }, 120).map(
        (v) => v.check,
      ),
    ).toEqual(['a 429 says when to retry', 'every error keeps the shape']);
  });
});
