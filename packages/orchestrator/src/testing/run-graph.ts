import { setTimeout as sleep } from 'node:timers/promises';

import type { RunError, RunEventEnvelope } from '@runstream/events';
import { createGraphCatalog, createRun } from '@runstream/graph-catalog';
import {
  type Database,
  type RunStatus,
  createRepositories,
  toEnvelope,
} from '@runstream/persistence';

import type { GraphDefinition } from '../graph.js';
import { createGraphRegistry } from '../graph-registry.js';
import { type RunWorkerOptions, createRunWorker } from '../run-worker.js';

export interface RunGraphOptions {
  /**
   * The database to run on: a test database of the test file's own (`openTestDatabase` of
   * `@runstream/persistence/testing`), migrated. Queued runs of the same graph in it may be
   * executed too.
   */
  db: Database;
  /** @default "test" */
  tenant?: string;
  /**
   * The run fails the test (the promise rejects) if it has not ended by then.
   * @default 30000
   */
  timeoutMs?: number;
  /** Per-run limits, tracer batching and the like, as the run-worker takes them. */
  worker?: Pick<RunWorkerOptions, 'limits' | 'tracer' | 'leaseMs'>;
}

/** How a run of a graph went, read back from the database. */
export interface GraphRun {
  runId: string;
  status: RunStatus;
  /** Every event of the run, from run.queued to its terminal event, in seq order. */
  events: RunEventEnvelope[];
  /** run.completed's output, when the run succeeded. */
  output?: unknown;
  /** run.failed's error, when the run failed. */
  error?: RunError;
}

/**
 * Runs one run of `graph` the way a deployment does, on a test database: the graph is registered
 * as a worker registers it, the run is created through `createRun` (so an input the api would
 * refuse is refused here too, with the same RunInputError), a run-worker serving the graph
 * executes it, and its persisted events are returned once it has ended.
 */
export async function runGraph(
  graph: GraphDefinition,
  input: unknown,
  options: RunGraphOptions,
): Promise<GraphRun> {
  const repos = createRepositories(options.db);
  const registry = createGraphRegistry([graph]);
  await repos.graphs.register(registry.registrations(), { liveForMs: 60_000 });
  const catalog = createGraphCatalog({ registry: repos.graphs });
  const { run } = await createRun(
    { runs: repos.runs, catalog },
    { tenant: options.tenant ?? 'test', graph: graph.name, input },
  );
  const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };
  const worker = createRunWorker(
    {
      leases: repos.leases,
      events: repos.events,
      graphs: repos.graphs,
      wakeup: { notify: () => undefined },
      registry,
      logger: silent,
    },
    { concurrency: 1, pollMs: 10, cancelPollMs: 50, ...options.worker },
  );
  worker.start();
  try {
    const deadline = Date.now() + (options.timeoutMs ?? 30_000);
    let ended = await repos.runs.getById(run.id);
    while (ended.finishedAt === null) {
      if (Date.now() > deadline)
        throw new Error(`run ${run.id} of graph "${graph.name}" did not end in time`);
      await sleep(10);
      ended = await repos.runs.getById(run.id);
    }
    const events: RunEventEnvelope[] = [];
    for (;;) {
      const page = await repos.events.readPage(run.id, { fromSeq: events.length + 1 });
      if (page.length === 0) break;
      events.push(...page.map(toEnvelope));
    }
    const last = events.at(-1);
    return {
      runId: run.id,
      status: ended.status,
      events,
      ...(last?.type === 'run.completed' ? { output: last.data.output } : {}),
      ...(last?.type === 'run.failed' ? { error: last.data.error as RunError } : {}),
    };
  } finally {
    await worker.stop({ drainMs: 0 });
  }
}
