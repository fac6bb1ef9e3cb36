import { join } from 'node:path';

import {
  type TestDatabase,
  createTestDatabase,
  freePort,
  waitFor,
} from '@runstream/persistence/testing';

import { ROOT, type Spawned, spawnNode, stop } from './processes.js';

/** The three built processes on a test database of their own, with a restartable api. */
export interface Stack {
  url: string;
  database: TestDatabase;
  api: () => Spawned;
  startApi(): Promise<void>;
  stop(): Promise<void>;
}

export async function startStack(): Promise<Stack> {
  const database = await createTestDatabase();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: database.url,
    RUNSTREAM_BUS: 'postgres',
    PORT: String(port),
    HOST: '127.0.0.1',
    RUNSTREAM_OUTBOX_METRICS_PORT: '0',
    RUNSTREAM_RUN_WORKER_METRICS_PORT: '0',
    LOG_LEVEL: 'warn',
  };
  const app = (name: string): Spawned =>
    spawnNode([join(ROOT, 'apps', name, 'dist', 'main.js')], { env });
  const workers = [app('outbox-worker'), app('run-worker')];
  let api: Spawned | undefined;
  const startApi = async (): Promise<void> => {
    const current = app('api');
    api = current;
    await waitFor('the api to be ready', async () => {
      if (current.child.exitCode !== null) throw new Error(`api exited:\n${current.output()}`);
      return (await fetch(`${url}/readyz`)).ok;
    });
  };
  await startApi();
  // Ready means runs can be created: the run-worker has registered the built-in graphs.
  await waitFor('the run-worker to register its graphs', async () => {
    const response = await fetch(`${url}/v1/graphs`);
    const { graphs } = (await response.json()) as { graphs?: { name: string }[] };
    return (graphs ?? []).filter((g) => g.name === 'demo' || g.name === 'synthetic').length === 2;
  });
  return {
    url,
    database,
    api: () => api!,
    startApi,
    async stop() {
      await Promise.all([...workers, ...(api ? [api] : [])].map((p) => stop(p)));
      await database.drop();
    },
  };
}
