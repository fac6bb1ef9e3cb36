import type { Bus } from '@runstream/bus';
import { type Database, createOutboxRepo } from '@runstream/persistence';

import {
  type OutboxWorker,
  type OutboxWorkerOptions,
  createOutboxWorker,
} from '../outbox-worker.js';

export interface RunningOutbox {
  /** The production loop itself (`wake`, `drainOnce`). */
  worker: OutboxWorker;
  /** Resolves once no unpublished, unparked outbox row is left in the database. */
  drained(timeoutMs?: number): Promise<void>;
  /** Stops the loop; resolves once its current batch has committed or rolled back. */
  stop(): Promise<void>;
}

const quiet = { debug: () => undefined, warn: () => undefined, error: () => undefined };
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The production outbox loop for a test, in its process: it claims, publishes to `bus` and marks
 * as the outbox worker does. Faults come from the bus it is given (`withMessageFaults` of
 * `@runstream/bus/testing`), never from a second implementation of the loop. Wake-ups are not
 * listened for: the loop looks every `pollIntervalMs` (5 ms here unless told).
 */
export function startOutboxLoop(
  deps: { db: Database; bus: Bus },
  options: OutboxWorkerOptions = {},
): RunningOutbox {
  const pollIntervalMs = options.pollIntervalMs ?? 5;
  const worker = createOutboxWorker(
    {
      db: deps.db,
      outbox: createOutboxRepo(deps.db),
      bus: deps.bus,
      logger: quiet,
    },
    { ...options, pollIntervalMs },
  );
  const stopping = new AbortController();
  const running = worker.run(stopping.signal);
  return {
    worker,
    async drained(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const { rows } = await deps.db.pool.query<{ waiting: boolean }>(
          'SELECT EXISTS (SELECT 1 FROM run_outbox WHERE published_at IS NULL AND parked_at IS NULL) AS waiting',
        );
        if (!rows[0]?.waiting) return;
        if (Date.now() > deadline)
          throw new Error(`outbox loop: unpublished rows left after ${timeoutMs} ms`);
        await pause(pollIntervalMs);
      }
    },
    async stop() {
      stopping.abort();
      await running;
    },
  };
}
