import { describe, expect, it } from 'vitest';

import {
  RunNotFoundError,
  RunTerminalError,
  isTransientDatabaseError,
  sqlState,
} from './errors.js';
import { isRunId, newRunId } from './ids.js';

describe('sqlState', () => {
  it('finds the SQLSTATE through pg, Prisma and cause wrappers', () => {
    expect(sqlState({ code: '40001' })).toBe('40001');
    expect(sqlState({ code: 'P2010', meta: { code: '40P01' } })).toBe('40P01');
    expect(sqlState(new Error('outer', { cause: { code: '23505' } }))).toBe('23505');
    expect(sqlState({ originalCode: '23514', code: 'P2004' })).toBe('23514');
    // The shape Prisma 7 gives a failed raw query through @prisma/adapter-pg.
    expect(
      sqlState({
        code: 'P2010',
        meta: {
          driverAdapterError: {
            name: 'DriverAdapterError',
            cause: { originalCode: '22012', kind: 'postgres' },
          },
        },
      }),
    ).toBe('22012');
    expect(sqlState({ code: 'P0001' })).toBe('P0001');
  });

  it('is undefined for errors without one', () => {
    expect(sqlState(new Error('plain'))).toBeUndefined();
    expect(sqlState('a string')).toBeUndefined();
    expect(sqlState(null)).toBeUndefined();
    expect(sqlState({ code: 'ECONNRESET' })).toBeUndefined();
    expect(sqlState({ code: 'P2025' })).toBeUndefined();
  });
});

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
      { code: 'P2024' },
      { code: 'P2010', meta: { driverAdapterError: { cause: { kind: 'ConnectionClosed' } } } },
      {
        code: 'P2010',
        meta: { driverAdapterError: { cause: { originalCode: '53300', kind: 'postgres' } } },
      },
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
      { code: 'P2002' },
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
