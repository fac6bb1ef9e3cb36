import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The lock `pnpm start` writes while it runs, in the state folder of a checkout. */
const START_LOCK = join('.runstream', 'start.json');

/**
 * The api URL of the `pnpm start` running for the checkout that holds `from`: the nearest
 * `.runstream/start.json` in `from` or a folder above it names the URL and the supervisor's pid.
 * Undefined when there is none, or when the nearest lock is stale (its process is gone): a lock
 * further up belongs to another checkout, whose stack this command was not run in.
 */
export function findStartUrl(
  from: string,
  isAlive: (pid: number) => boolean = processIsAlive,
): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    const lock = readLock(join(dir, START_LOCK));
    if (lock !== 'absent') return lock && isAlive(lock.pid) ? lock.url : undefined;
    if (dirname(dir) === dir) return undefined;
  }
}

/** The lock's pid and URL; undefined when it is torn or not a lock; 'absent' when there is none. */
function readLock(file: string): { pid: number; url: string } | undefined | 'absent' {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return 'absent';
  }
  try {
    const value = JSON.parse(text) as { pid?: unknown; url?: unknown };
    if (
      typeof value.pid === 'number' &&
      Number.isInteger(value.pid) &&
      value.pid > 0 &&
      typeof value.url === 'string' &&
      /^https?:\/\//.test(value.url)
    )
      return { pid: value.pid, url: value.url };
  } catch {
    // written half-way, or by something else: no usable lock
  }
  return undefined;
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists, it just belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
