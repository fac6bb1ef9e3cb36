import { type ChildProcess, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A spawned run-worker process (the built dist/main.js). */
export interface WorkerProcess {
  child: ChildProcess;
  exited: Promise<Exit>;
  output(): string;
  /** The worker id it logged at start, once it has started. */
  started(): Promise<string>;
  kill(signal?: NodeJS.Signals): Promise<Exit>;
}

const live = new Set<WorkerProcess>();

export function spawnWorker(env: Record<string, string>): WorkerProcess {
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<Exit>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const worker: WorkerProcess = {
    child,
    exited,
    output: () => out,
    async started() {
      const id = await waitFor(
        'the worker to start',
        async () => /"workerId":"([^"]+)"/.exec(out)?.[1],
      );
      return id;
    },
    async kill(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
  live.add(worker);
  void exited.then(() => live.delete(worker));
  return worker;
}

/** Kills every worker a test left running; for afterEach. */
export async function killAll(): Promise<void> {
  await Promise.all([...live].map((w) => w.kill('SIGKILL')));
}

/** Polls `probe` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}
