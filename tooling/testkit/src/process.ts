import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** The three processes of a deployment. */
export type AppName = 'api' | 'outbox-worker' | 'run-worker';
export const APPS: readonly AppName[] = ['api', 'outbox-worker', 'run-worker'];

/** The built entry point of an app (`pnpm build` makes it). */
export function appMain(app: AppName): string {
  return join(ROOT, 'apps', app, 'dist', 'main.js');
}

/** A spawned process with its output kept for assertions and for failure messages. */
export interface Spawned {
  child: ChildProcess;
  /** Everything it wrote so far, stdout and stderr interleaved. */
  output: () => string;
  /** What it wrote to stderr alone. */
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Runs `node <args>` with its output captured (and copied to `onLine`, line by line, if given). */
export function spawnNode(
  args: string[],
  options: { cwd?: string; env: NodeJS.ProcessEnv; onLine?: (line: string) => void },
): Spawned {
  const child = spawn(process.execPath, args, {
    cwd: options.cwd ?? ROOT,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let partial = '';
  const take = (chunk: Buffer, fromStderr = false): void => {
    const text = chunk.toString();
    out += text;
    if (fromStderr) err += text;
    if (!options.onLine) return;
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) options.onLine(line);
  };
  child.stdout?.on('data', (chunk: Buffer) => take(chunk));
  child.stderr?.on('data', (chunk: Buffer) => take(chunk, true));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      if (partial && options.onLine) options.onLine(partial);
      resolve({ code, signal });
    }),
  );
  return { child, output: () => out, stderr: () => err, exited };
}

/** Spawns a built app (see `appMain`) from its own folder. */
export function spawnApp(
  app: AppName,
  options: { env: NodeJS.ProcessEnv; onLine?: (line: string) => void },
): Spawned {
  return spawnNode([appMain(app)], { ...options, cwd: join(ROOT, 'apps', app) });
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether the process has not exited yet. */
export function running(spawned: Spawned): boolean {
  return spawned.child.exitCode === null && spawned.child.signalCode === null;
}

/** Every live process whose ancestry leads to `pid` (read from /proc), `pid` excluded. */
export function descendants(pid: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Field 4 (ppid) follows the command name, which is in parentheses and may hold spaces.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(Number(entry), ppid);
    } catch {
      // The process ended while we read.
    }
  }
  const found: number[] = [];
  const walk = (parent: number): void => {
    for (const [child, ppid] of parents) {
      if (ppid === parent) {
        found.push(child);
        walk(child);
      }
    }
  };
  walk(pid);
  return found;
}

/** Stops a process if it still runs: `signal` (SIGTERM), then SIGKILL after `graceMs`. */
export async function stop(
  spawned: Spawned,
  graceMs = 10_000,
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (!running(spawned)) return spawned.exited;
  spawned.child.kill(signal);
  const timer = setTimeout(() => spawned.child.kill('SIGKILL'), graceMs);
  const result = await spawned.exited;
  clearTimeout(timer);
  return result;
}

/**
 * The processes a test file spawned, so that an afterEach can SIGKILL whatever a test left running
 * (a process that outlives its test keeps connections open, which fails the database leak check).
 */
export interface ProcessGroup {
  add<T extends Spawned>(spawned: T): T;
  /** SIGKILLs every process of the group still running and waits for each exit. */
  killAll(): Promise<void>;
}

export function processGroup(): ProcessGroup {
  const live = new Set<Spawned>();
  return {
    add(spawned) {
      live.add(spawned);
      void spawned.exited.then(() => live.delete(spawned));
      return spawned;
    },
    async killAll() {
      await Promise.all([...live].map((spawned) => stop(spawned, 0, 'SIGKILL')));
    },
  };
}

/** The first group of `pattern` in what the process has written, once it is there. */
export async function logged(
  spawned: Spawned,
  pattern: RegExp,
  timeoutMs = 20_000,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = pattern.exec(spawned.output());
    if (match) return match[1] ?? match[0];
    if (!running(spawned))
      throw new Error(`exited before logging ${String(pattern)}:\n${spawned.output()}`);
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${String(pattern)}:\n${spawned.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
