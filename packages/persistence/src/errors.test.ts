import { describe, expect, it } from 'vitest';

import { RunNotFoundError, RunTerminalError, isTransientDatabaseError } from './errors.js';
import { isRunId, newRunId } from './ids.js';

describe('isTransientDatabaseError', () => {
  it('knows a failed connection, a refusal, a restart and a timeout, however wrapped', () => {
    for (const error of [
      { code: 'ECONNRESET' },
      { code: 'ECONNREFUSED' },
      { code: '53300' },
      { code: '57P01' },
      { code: '08006' },
      { code: '40001' },
      new Error('Connection terminated unexpectedly'),
      new Error('timeout exceeded when trying to connect'),
      // A database closed to new connections for maintenance (ALTER DATABASE ... ALLOW_CONNECTIONS false).
      Object.assign(new Error('database "x" is not currently accepting connections'), {
        code: '55000',
      }),
      new AggregateError([{ code: 'ECONNREFUSED' }]),
      new Error('outer', { cause: { code: 'EPIPE' } }),
    ]) {
      expect(isTransientDatabaseError(error)).toBe(true);
    }
  });

  it('is false for a statement the database refused, and for anything else', () => {
    for (const error of [
      { code: '23505' },
      { code: '22P05' },
      // 55000 alone is a statement refused for the state of an object, not a connection.
      Object.assign(new Error('cannot drop the object now'), { code: '55000' }),
      new Error('plain'),
      'a string',
      null,
      { code: 'LEASE_LOST' },
    ]) {
      expect(isTransientDatabaseError(error)).toBe(false);
    }
  });
});

describe('typed errors', () => {
  it('carry a stable code and the run id', () => {
    const missing = new RunNotFoundError('r1');
    expect(missing).toMatchObject({ code: 'RUN_NOT_FOUND', runId: 'r1', details: { runId: 'r1' } });
    expect(new RunTerminalError('r2')).toMatchObject({ code: 'RUN_TERMINAL', runId: 'r2' });
  });
});

describe('run ids', () => {
  it('are UUIDv7 that sort by creation', () => {
    const ids = Array.from({ length: 50 }, () => newRunId());
    expect(ids.every(isRunId)).toBe(true);
    expect(ids.every((id) => id[14] === '7')).toBe(true);
    expect([...ids].sort()).toEqual(ids);
  });

  it('refuse anything that is not a UUID, so it is never sent to the database', () => {
    for (const bad of [
      '',
      'abc',
      '0190f0f0-0000-7000-8000-00000000000',
      "1' OR '1'='1",
      '0190f0f0-0000-7000-8000-000000000000 ',
    ]) {
      expect(isRunId(bad)).toBe(false);
    }
  });
});
