import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { readLock, takeLock } from './state-lock.js';

const dir = mkdtempSync(join(tmpdir(), 'runstream-lock-'));
const file = join(dir, 'start.json');
afterEach(() => rmSync(file, { force: true }));

describe('the start lock', () => {
  it('is taken once; a second start learns where the first one is', () => {
    expect(takeLock(file, 'http://127.0.0.1:3000', () => undefined)).toEqual({ taken: true });
    const second = takeLock(file, 'http://127.0.0.1:3001', () => undefined);
    expect(second.taken).toBe(false);
    expect(!second.taken && second.holder).toMatchObject({
      pid: process.pid,
      url: 'http://127.0.0.1:3000',
    });
  });

  it('takes over the lock of a start that died', () => {
    // A pid far above any live one here.
    writeFileSync(file, JSON.stringify({ pid: 2 ** 22 + 7, url: 'http://x', startedAt: '' }));
    const notes: string[] = [];
    expect(takeLock(file, 'http://127.0.0.1:3000', (n) => notes.push(n))).toEqual({ taken: true });
    expect(notes).toEqual(['removing the lock of a start that did not stop cleanly']);
    expect(readLock(file)?.pid).toBe(process.pid);
  });
});
