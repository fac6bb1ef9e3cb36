import { registerBuiltInGraphs } from '@runstream/graphs/testing';
import {
  type FileHooks,
  type UsedTestDatabase,
  useTestDatabase,
} from '@runstream/persistence/testing';
import { type Spawned, logged, processGroup, running, spawnApp } from '@runstream/testkit';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A spawned run-worker process (the built dist/main.js). */
export interface WorkerProcess extends Spawned {
  /** The worker id it logged at start, once it has started. */
  started(): Promise<string>;
  /** The port of its health and metrics endpoint, once it has logged it. */
  metricsPort(): Promise<number>;
  /** Sends `signal` (SIGKILL by default) and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<Exit>;
}

const group = processGroup();

export function spawnWorker(env: Record<string, string>): WorkerProcess {
  const spawned = group.add(
    spawnApp('run-worker', {
      // Port 0: workers started side by side must not compete for the default port.
      env: {
        PATH: process.env.PATH,
        LOG_LEVEL: 'info',
        RUNSTREAM_RUN_WORKER_METRICS_PORT: '0',
        ...env,
      },
    }),
  );
  return {
    ...spawned,
    started: () => logged(spawned, /"workerId":"([^"]+)"/),
    metricsPort: async () => Number(await logged(spawned, /"metricsPort":([1-9]\d*)/)),
    async kill(signal = 'SIGKILL') {
      if (running(spawned)) spawned.child.kill(signal);
      return spawned.exited;
    },
  };
}

/** Kills every worker a test left running; for afterEach. */
export const killAll = (): Promise<void> => group.killAll();

/**
 * The test database of a file that spawns run-workers: the built-in graphs registered before any
 * worker starts (as a worker would), and after each test every worker killed and the queue emptied,
 * so that a run left over cannot be claimed by the next test's workers.
 */
export function useWorkerDatabase(
  hooks: FileHooks & { afterEach(fn: () => Promise<void>): void },
  options: { poolSize?: number },
): UsedTestDatabase {
  const t = useTestDatabase(hooks, options);
  hooks.beforeAll(async () => {
    await registerBuiltInGraphs(t.repos.graphs);
  });
  hooks.afterEach(async () => {
    await killAll();
    await t.db.pool.query('DELETE FROM runs');
  });
  return t;
}
