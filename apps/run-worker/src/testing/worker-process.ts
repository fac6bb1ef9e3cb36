import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { vi } from 'vitest';

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
  /** The port of its health and metrics endpoint, once it has logged it. */
  metricsPort(): Promise<number>;
  kill(signal?: NodeJS.Signals): Promise<Exit>;
}

const live = new Set<WorkerProcess>();

export function spawnWorker(env: Record<string, string>): WorkerProcess {
  const child = spawn(process.execPath, [MAIN], {
    // Port 0: workers started side by side must not compete for the default port.
    env: {
      PATH: process.env.PATH,
      LOG_LEVEL: 'info',
      RUNSTREAM_RUN_WORKER_METRICS_PORT: '0',
      ...env,
    },
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
    started: () =>
      vi.waitUntil(() => /"workerId":"([^"]+)"/.exec(out)?.[1], { timeout: 20_000, interval: 25 }),
    metricsPort: () =>
      vi.waitUntil(
        () => {
          const port = Number(/"metricsPort":(\d+)/.exec(out)?.[1] ?? 0);
          return port > 0 ? port : undefined;
        },
        { timeout: 20_000, interval: 25 },
      ),
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
