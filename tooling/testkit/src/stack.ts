import { freePort } from './net.js';
import { type AppName, type Spawned, spawnApp, stop } from './process.js';
import { waitFor } from './wait.js';

/**
 * Waits until the api at `url` answers /readyz with 200; fails at once, with the process's output,
 * if `api` exits first.
 */
export async function waitForApi(url: string, api?: Spawned, timeoutMs = 60_000): Promise<void> {
  await waitFor(
    `the api at ${url} to be ready`,
    async () => {
      if (api && api.child.exitCode !== null)
        throw new Error(`the api exited with ${api.child.exitCode}:\n${api.output()}`);
      return (await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2000) })).ok;
    },
    timeoutMs,
  );
}

/** Waits until a run-worker has registered `graphs` (runs of them can be created from then on). */
export async function waitForGraphs(
  url: string,
  graphs: readonly string[] = ['demo', 'synthetic'],
  timeoutMs = 60_000,
): Promise<void> {
  await waitFor(
    `a run-worker to register ${graphs.join(', ')}`,
    async () => {
      const response = await fetch(`${url}/v1/graphs`, { signal: AbortSignal.timeout(2000) });
      const { graphs: listed } = (await response.json()) as { graphs?: { name: string }[] };
      const names = new Set((listed ?? []).map((g) => g.name));
      return graphs.every((name) => names.has(name));
    },
    timeoutMs,
  );
}

/** The three built processes on one database, with a restartable api. */
export interface Stack {
  url: string;
  port: number;
  api: () => Spawned;
  workers: readonly Spawned[];
  /** Starts the api again (after `stop(stack.api())`) and waits until it is ready. */
  startApi(): Promise<void>;
  /** SIGTERM to all three (SIGKILL after the grace period). */
  stop(): Promise<void>;
}

export interface StackOptions {
  databaseUrl: string;
  /** @default 'postgres' */
  bus?: string;
  /** More environment for all three (on top of this process's). */
  env?: NodeJS.ProcessEnv;
  onLine?: (app: AppName, line: string) => void;
}

/**
 * Starts the outbox worker, the run-worker and the api (built: `pnpm build`) on `databaseUrl`, every
 * listener on a free port, and waits until runs can be created: the api is ready and the
 * run-worker has registered the built-in graphs.
 */
export async function startStack(options: StackOptions): Promise<Stack> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: options.databaseUrl,
    RUNSTREAM_BUS: options.bus ?? 'postgres',
    PORT: String(port),
    HOST: '127.0.0.1',
    RUNSTREAM_OUTBOX_METRICS_PORT: '0',
    RUNSTREAM_RUN_WORKER_METRICS_PORT: '0',
    LOG_LEVEL: 'warn',
    ...options.env,
  };
  const start = (app: AppName): Spawned =>
    spawnApp(app, {
      env,
      onLine: options.onLine && ((line: string) => options.onLine?.(app, line)),
    });
  const workers = [start('outbox-worker'), start('run-worker')];
  let api: Spawned | undefined;
  const startApi = async (): Promise<void> => {
    const current = start('api');
    api = current;
    await waitForApi(url, current);
  };
  try {
    await startApi();
    await waitForGraphs(url);
  } catch (error) {
    await Promise.all([...workers, ...(api ? [api] : [])].map((p) => stop(p, 5_000)));
    throw error;
  }
  return {
    url,
    port,
    api: () => api!,
    workers,
    startApi,
    async stop() {
      await Promise.all([...workers, ...(api ? [api] : [])].map((p) => stop(p)));
    },
  };
}
