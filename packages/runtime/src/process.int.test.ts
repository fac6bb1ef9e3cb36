import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { afterEach, describe, expect, it, vi } from 'vitest';

const FIXTURE = fileURLToPath(new URL('./testing/process-fixture.ts', import.meta.url));
const PACKAGE = fileURLToPath(new URL('..', import.meta.url));

interface Fixture {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

function run(scenario: string): Fixture {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, scenario], {
    cwd: PACKAGE,
    env: { PATH: process.env.PATH },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

const poll = { timeout: 15_000, interval: 20 };

describe('a process built on the runtime', () => {
  it('2: prints a StartupError thrown at start as one line naming the variable, and exits 1', async () => {
    const p = run('startup-error');
    expect(await p.exited).toBe(1);
    expect(p.stderr()).toBe('FIXTURE_PORT: must be a whole number from 0 to 9\n');
    expect(p.stdout()).toBe('');
  });

  it('2: prints any other start-up failure as one line with its reason, and exits 1', async () => {
    const p = run('startup-crash');
    expect(await p.exited).toBe(1);
    expect(p.stderr()).toBe('start-up failed: connect ECONNREFUSED 127.0.0.1:1\n');
  });

  it('4: stops on SIGTERM with exit 0', async () => {
    const p = run('clean');
    await vi.waitUntil(() => p.stdout().includes('ready'), poll);
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
  });

  it('4: exits 1 when a shutdown step failed', async () => {
    const p = run('failed-step');
    await vi.waitUntil(() => p.stdout().includes('ready'), poll);
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(1);
    expect(p.stdout()).toMatch(/"handler":"step".*"msg":"shutdown step failed"/);
  });

  it('4: stops on SIGTERM with exit 0 while a start-up step still waits', async () => {
    const p = run('wait');
    await vi.waitUntil(() => p.stdout().includes('unreachable'), poll);
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
    expect(p.stdout()).not.toContain('ready');
    expect(p.stderr()).toBe('');
  });
});
