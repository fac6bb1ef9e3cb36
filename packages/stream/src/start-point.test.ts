import { describe, expect, it } from 'vitest';

import { MAX_SEQ, StartPointError, resolveStartPoint } from './start-point.js';

describe('resolveStartPoint', () => {
  it('starts at 1 by default; fromSeq is inclusive, Last-Event-ID exclusive', () => {
    expect(resolveStartPoint({})).toBe(0);
    expect(resolveStartPoint({ fromSeq: '0' })).toBe(0);
    expect(resolveStartPoint({ fromSeq: '1' })).toBe(0);
    expect(resolveStartPoint({ fromSeq: '10' })).toBe(9);
    expect(resolveStartPoint({ lastEventId: '10' })).toBe(10);
    expect(resolveStartPoint({ lastEventId: '0' })).toBe(0);
  });

  it('lets Last-Event-ID win over fromSeq, even a bad fromSeq', () => {
    expect(resolveStartPoint({ lastEventId: '7', fromSeq: '100' })).toBe(7);
    expect(resolveStartPoint({ lastEventId: '7', fromSeq: 'abc' })).toBe(7);
    expect(resolveStartPoint({ lastEventId: '', fromSeq: '3' })).toBe(2);
  });

  it.each([
    '-1',
    '1.5',
    'abc',
    '18446744073709551616',
    String(MAX_SEQ + 1),
    '1e3',
    '0x10',
    '',
    ' 1',
    '+1',
  ])('refuses fromSeq %j', (fromSeq) => {
    expect(() => resolveStartPoint({ fromSeq })).toThrow(StartPointError);
  });

  it.each(['-1', '1.5', 'garbage', '18446744073709551616', '12abc'])(
    'refuses Last-Event-ID %j',
    (lastEventId) => {
      const error = (() => {
        try {
          resolveStartPoint({ lastEventId });
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(error).toBeInstanceOf(StartPointError);
      expect(error).toMatchObject({ code: 'INVALID_START_POINT', field: 'Last-Event-ID' });
    },
  );

  it('accepts the largest seq', () => {
    expect(resolveStartPoint({ lastEventId: String(MAX_SEQ) })).toBe(MAX_SEQ);
  });
});
