import { describe, expect, it } from 'vitest';

import { toStorableJson } from './storable-json.js';

describe('toStorableJson', () => {
  it('A4: replaces U+0000 and lone surrogates with U+FFFD, in values and keys', () => {
    const value = {
      text: 'a\u0000b',
      high: 'x\ud83d',
      low: '\ude00y',
      pair: 'ok \ud83d\ude00',
      ['k\u0000\ud800']: ['\ud800\ud800', 1, null, true],
    };
    expect(JSON.parse(toStorableJson(value))).toEqual({
      text: 'a\uFFFDb',
      high: 'x\uFFFD',
      low: '\uFFFDy',
      pair: 'ok \ud83d\ude00',
      ['k\uFFFD\uFFFD']: ['\uFFFD\uFFFD', 1, null, true],
    });
  });

  it('leaves clean values as JSON.stringify writes them, text that spells an escape included', () => {
    for (const value of [
      { a: 1, b: ['x', { c: 'ü 😀' }] },
      { spelled: '\\u0000 and \\ud800' },
      { date: new Date(0) },
      [],
      'plain',
    ]) {
      expect(toStorableJson(value)).toBe(JSON.stringify(value));
    }
  });

  it('keeps a key named __proto__ as a key', () => {
    const value = JSON.parse('{"__proto__": {"x": "\\u0000"}}') as unknown;
    expect(toStorableJson(value)).toBe('{"__proto__":{"x":"\uFFFD"}}');
  });
});
