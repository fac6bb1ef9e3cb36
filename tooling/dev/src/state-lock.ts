import { readFileSync, rmSync, writeFileSync } from 'node:fs';

import { isAlive } from '@runstream/testkit';

/** What the lock file records about the running start; the CLI reads `url` from it. */
export interface StartLock {
  pid: number;
  url: string;
  startedAt: string;
}

export type LockResult = { taken: true } | { taken: false; holder: StartLock };

/**
 * One `pnpm start` per state folder. The lock names the running one so that a second start can say
 * where it is; a lock whose process is gone (a start that was killed) is taken over.
 */
export function takeLock(file: string, url: string, note: (line: string) => void): LockResult {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const lock: StartLock = { pid: process.pid, url, startedAt: new Date().toISOString() };
      writeFileSync(file, JSON.stringify(lock), { flag: 'wx' });
      return { taken: true };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = readLock(file);
      if (holder && isAlive(holder.pid)) return { taken: false, holder };
      note('removing the lock of a start that did not stop cleanly');
      rmSync(file, { force: true });
    }
  }
  throw new Error(`cannot take the lock ${file}`);
}

export function readLock(file: string): StartLock | undefined {
  try {
    const value = JSON.parse(readFileSync(file, 'utf8')) as Partial<StartLock>;
    if (typeof value.pid === 'number' && typeof value.url === 'string') return value as StartLock;
  } catch {
    // missing or torn: no holder
  }
  return undefined;
}
