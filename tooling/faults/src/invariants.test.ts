import { describe, expect, it } from 'vitest';

import { checkProbe, checkStream } from './invariants.js';

const facts = { status: 'succeeded', lastSeq: 4 };
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
