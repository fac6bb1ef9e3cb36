import { type TcpProxy, startTcpProxy } from '@runstream/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { type Database, createDatabase } from './database.js';
import { type TestDatabase, createTestDatabase } from './testing/index.js';

/** A silent connection must be noticed, and the pool be usable again, within this. */
const NOTICE_MS = 10_000;

let testDb: TestDatabase;
let proxy: TcpProxy;
const open: Database[] = [];

beforeAll(async () => {
  testDb = await createTestDatabase();
});
afterEach(async () => {
  for (const db of open.splice(0)) await db.close();
  await proxy?.close();
});
afterAll(async () => testDb?.drop());

/** A one-connection pool through a fault proxy: whatever comes next runs on the same connection. */
async function proxiedDatabase(): Promise<Database> {
  proxy = await startTcpProxy({ targetPort: Number(new URL(testDb.url).port) });
  const db = createDatabase({ url: proxy.url(testDb.url), poolSize: 1, applicationName: 'silent' });
  open.push(db);
  return db;
}

/** Ms that `promise` takes to settle, and how it settled. */
async function timed(promise: Promise<unknown>): Promise<{ ms: number; error?: unknown }> {
  const started = Date.now();
  try {
    await promise;
    return { ms: Date.now() - started };
  } catch (error) {
    return { ms: Date.now() - started, error };
  }
}

describe('createDatabase on a connection that goes silent', () => {
  it('A2: a pool query fails within 10 s and the next query runs on a new connection', async () => {
    const db = await proxiedDatabase();
    await db.pool.query('SELECT 1');
    proxy.blackhole();
    const failed = await timed(db.pool.query('SELECT 2'));
    expect(failed.error).toBeInstanceOf(Error);
    expect(failed.ms).toBeLessThan(NOTICE_MS);
    const next = await timed(db.pool.query('SELECT 3'));
    expect(next.error).toBeUndefined();
    expect(proxy.counters.connections).toBe(2);
  });

  it('A2: a transaction fails within 10 s, and its client is destroyed, never handed out again', async () => {
    const db = await proxiedDatabase();
    const failed = await timed(
      db.transaction(async (tx) => {
        await tx.query('SELECT 1');
        proxy.blackhole();
        await tx.query('SELECT 2');
      }),
    );
    expect(failed.error).toBeInstanceOf(Error);
    expect(failed.ms).toBeLessThan(NOTICE_MS);
    // With one connection in the pool, a reused dead client would fail each of these.
    for (let i = 0; i < 3; i++) {
      const next = await timed(db.pool.query('SELECT 1'));
      expect(next.error).toBeUndefined();
      expect(next.ms).toBeLessThan(NOTICE_MS);
    }
    expect(await db.pool.query('SELECT 1')).toMatchObject({ rowCount: 1 });
  });

  it('A2: a connection that is silent from its start fails the checkout within 10 s', async () => {
    const db = await proxiedDatabase();
    proxy.mode('blackhole');
    const failed = await timed(db.pool.query('SELECT 1'));
    expect(failed.error).toBeInstanceOf(Error);
    expect(failed.ms).toBeLessThan(NOTICE_MS);
    proxy.heal();
    expect(await db.pool.query('SELECT 1')).toMatchObject({ rowCount: 1 });
  });

  it('A2: a long statement stops at its server-side budget, before the client would give up on the connection', async () => {
    const db = await proxiedDatabase();
    const failed = await timed(db.pool.query('SELECT pg_sleep(60)'));
    // 57014 query_canceled: the server enforced the budget, not the client's dead-connection
    // deadline (which would fail it later, with no SQLSTATE).
    expect(failed.error).toMatchObject({ code: '57014' });
    expect(failed.ms).toBeLessThan(NOTICE_MS);
    expect(await db.pool.query('SELECT 1')).toMatchObject({ rowCount: 1 });
  });
});
