import { statusOf } from '@runstream/contract';
import { RunInputError } from '@runstream/graph-catalog';
import {
  IdempotentRunVanishedError,
  PersistenceError,
  RunNotFoundError,
} from '@runstream/persistence';
import { describe, expect, it } from 'vitest';

import { asDomainError, domainErrorBody } from './domain-errors.js';

/** The status and body the error handler sends for an error, or undefined for a 500. */
function answer(error: unknown) {
  const domain = asDomainError(error);
  return domain && { status: statusOf(domain.code), body: domainErrorBody(domain) };
}

describe('domain errors', () => {
  it("graph-catalog's RunInputError is a 400 with its issues, each naming the field at fault", () => {
    const issues = [{ path: ['input', 'events'], message: 'must be >= 1', code: 'minimum' }];
    expect(answer(new RunInputError('INVALID_INPUT', 'input does not fit', issues))).toEqual({
      status: 400,
      body: { error: { code: 'INVALID_INPUT', message: 'input does not fit', details: issues } },
    });
    const unknown = [
      { path: ['graph'], message: 'no worker registered it', code: 'unknown_graph' },
    ];
    expect(answer(new RunInputError('UNKNOWN_GRAPH', 'unknown graph', unknown))).toMatchObject({
      status: 400,
      body: { error: { code: 'UNKNOWN_GRAPH', details: unknown } },
    });
  });

  it('a run deleted while a create with its idempotency key ran is a 404 naming the key field', () => {
    expect(answer(new IdempotentRunVanishedError('k1'))).toMatchObject({
      status: 404,
      body: { error: { code: 'RUN_NOT_FOUND', details: { field: 'idempotencyKey' } } },
    });
    expect(answer(new RunNotFoundError('r1'))).toMatchObject({
      status: 404,
      body: { error: { code: 'RUN_NOT_FOUND', details: { runId: 'r1' } } },
    });
  });

  it('an error is recognised by its class, not by a code it happens to carry', () => {
    expect(answer(new PersistenceError('RUN_NOT_FOUND', 'a plain one'))).toBeUndefined();
    expect(answer(Object.assign(new Error('x'), { code: 'INVALID_INPUT' }))).toBeUndefined();
  });
});
