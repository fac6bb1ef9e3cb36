import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { vi } from 'vitest';

const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

/** A spawned outbox-worker process. */
export interface WorkerProcess {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
  /** The metrics port, once the process has logged it. */
  metricsPort(): Promise<number>;
  kill(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const live = new Set<WorkerProcess>();
const spawned: WorkerProcess[] = [];

/** The output of every worker spawned since the last call, for a failed test's report. */
export function takeWorkerOutputs(): string[] {
  return spawned.splice(0).map((w) => w.output());
}

export function spawnWorker(env: Record<string, string>): WorkerProcess {
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH, LOG_LEVEL: 'info', RUNSTREAM_OUTBOX_METRICS_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const worker: WorkerProcess = {
    child,
    exited,
    output: () => out,
    async metricsPort() {
      let port = 0;
      await vi.waitUntil(
        () => {
          const m = /"metricsPort":(\d+)/.exec(out);
          if (m) port = Number(m[1]);
          return port > 0;
        },
        { timeout: 15_000, interval: 20 },
      );
      return port;
    },
    async kill(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
  live.add(worker);
  spawned.push(worker);
  void exited.then(() => live.delete(worker));
  return worker;
}

/** Kills every worker a test left running (afterEach). */
export async function killAllWorkers(): Promise<void> {
  await Promise.all([...live].map((w) => w.kill('SIGKILL')));
}
