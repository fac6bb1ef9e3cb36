import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadBusSigningKey, rotateBusSigningKey } from './bus-signing-key.js';
import { useTestDatabase } from './testing/index.js';

const t = useTestDatabase({ beforeAll, afterAll }, { poolSize: 2 });

describe('the bus signing key', () => {
  it('is made by the migration: 32 random bytes, the same for every process that loads it', async () => {
    const key = await loadBusSigningKey(t.db.pool);
    expect(key).toBeInstanceOf(Buffer);
    expect(key.length).toBe(32);
    expect(new Set(key).size).toBeGreaterThan(8);
    expect((await loadBusSigningKey(t.db.pool)).equals(key)).toBe(true);
  });

  it('rotates to a new random key, and stays one row', async () => {
    const before = await loadBusSigningKey(t.db.pool);
    const rotated = await rotateBusSigningKey(t.db.pool);
    expect(rotated.length).toBe(32);
    expect(rotated.equals(before)).toBe(false);
    expect((await loadBusSigningKey(t.db.pool)).equals(rotated)).toBe(true);
    await expect(
      t.db.pool.query("INSERT INTO bus_signing_key (id, key) VALUES (2, '\\x00')"),
    ).rejects.toMatchObject({ code: '23514' });
  });

  it('says to migrate when the key is missing', async () => {
    await t.db.pool.query('DELETE FROM bus_signing_key');
    await expect(loadBusSigningKey(t.db.pool)).rejects.toThrow(/run the migrations/);
  });
});
