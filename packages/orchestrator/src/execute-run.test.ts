import { describe, expect, it } from 'vitest';

import { NodeError, RunLimitError } from './errors.js';
import { toRunError } from './execute-run.js';

describe('toRunError', () => {
  it('keeps a NodeError code and JSON details', () => {
    expect(toRunError(new NodeError('MY_CODE', 'went wrong', { at: 3 }))).toEqual({
      code: 'MY_CODE',
      message: 'went wrong',
      details: { at: 3 },
    });
  });

  it('reports any other Error as NODE_FAILED with its message', () => {
    expect(toRunError(new TypeError('x is not a function'))).toEqual({
      code: 'NODE_FAILED',
      message: 'x is not a function',
    });
  });

  it.each([
    [undefined, 'undefined'],
    [null, 'null'],
    ['plain string', "'plain string'"],
    [42, '42'],
    [{ nested: { deep: true } }, '{ nested: { deep: true } }'],
  ])('describes a thrown non-Error value %j', (value, shown) => {
    const error = toRunError(value);
    expect(error.code).toBe('NODE_FAILED');
    expect(error.message).toBe(`a node threw a non-Error value: ${shown}`);
  });
});

describe('RunLimitError', () => {
  it('is run.failed LIMIT_EXCEEDED naming the limit, its value and its variable', () => {
    expect(new RunLimitError('bytes', 5000).toRunError()).toEqual({
      code: 'LIMIT_EXCEEDED',
      message: "the run's event data exceeded 5000 bytes (RUNSTREAM_RUN_MAX_BYTES)",
      details: { limit: 'bytes', max: 5000 },
    });
  });
});
