import { type Spawned, processGroup, spawnApp } from '@runstream/testkit';
import { vi } from 'vitest';

/** A spawned outbox-worker process (the built app, through the test kit). */
export interface WorkerProcess extends Spawned {
  /** The metrics port, once the process has logged it. */
  metricsPort(): Promise<number>;
  kill(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const group = processGroup();
const spawned: WorkerProcess[] = [];

/** The output of every worker spawned since the last call, for a failed test's report. */
export function takeWorkerOutputs(): string[] {
  return spawned.splice(0).map((w) => w.output());
}

export function spawnWorker(env: Record<string, string>): WorkerProcess {
  const app = group.add(
    spawnApp('outbox-worker', {
      env: {
        PATH: process.env.PATH,
        LOG_LEVEL: 'info',
        RUNSTREAM_OUTBOX_METRICS_PORT: '0',
        ...env,
      },
    }),
  );
  const { child, exited, output } = app;
  const worker: WorkerProcess = {
    ...app,
    async metricsPort() {
      let port = 0;
      await vi.waitUntil(
        () => {
          const m = /"metricsPort":(\d+)/.exec(output());
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
  spawned.push(worker);
  return worker;
}

/** Kills every worker a test left running (afterEach). */
export const killAllWorkers = (): Promise<void> => group.killAll();
