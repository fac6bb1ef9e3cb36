import type { Bus, BusMessage } from '@runstream/bus';
import { type Database, createOutboxRepo, toEnvelope } from '@runstream/persistence';

/** What the simulated outbox does with one message: deliver it, lose it, deliver it twice, or send a pointer. */
export type Fault = 'deliver' | 'drop' | 'duplicate' | 'pointer';

export interface TestPublisherOptions {
  /** Decides each message's fate; every message is delivered as is when absent. */
  fault?: (message: BusMessage) => Fault;
  /** @default 5 */
  pollMs?: number;
}

export interface TestPublisher {
  /** Resolves once every committed event has been published (faults included). */
  idle(deadlineMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Stands in for the outbox worker in tests: claims outbox rows, publishes them to the bus (with
 * the faults asked for) and marks them published, in the claim's transaction, as the worker does.
 */
export function startTestPublisher(
  deps: { db: Database; bus: Bus },
  options: TestPublisherOptions = {},
): TestPublisher {
  const outbox = createOutboxRepo(deps.db);
  const pollMs = options.pollMs ?? 5;
  const controller = new AbortController();

  async function publishOnce(): Promise<number> {
    return deps.db.transaction(async (tx) => {
      const claimed = await outbox.claim(tx);
      const messages: BusMessage[] = [];
      for (const run of claimed) {
        for (const row of run.events) {
          const message: BusMessage = {
            source: 'outbox',
            runId: row.runId,
            seq: row.seq,
            event: toEnvelope(row),
          };
          const fate = options.fault?.(message) ?? 'deliver';
          if (fate === 'deliver') messages.push(message);
          else if (fate === 'duplicate') messages.push(message, message);
          else if (fate === 'pointer')
            messages.push({ source: 'outbox', runId: row.runId, seq: row.seq });
        }
      }
      if (messages.length > 0) await deps.bus.publish(messages);
      await outbox.markPublished(
        tx,
        claimed.map((run) => ({
          runId: run.runId,
          upToSeq: run.events[run.events.length - 1]!.seq,
        })),
      );
      return claimed.length;
    });
  }

  const loop = (async () => {
    while (!controller.signal.aborted) {
      const n = await publishOnce().catch(() => 0);
      if (n === 0) await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  })();

  return {
    async idle(deadlineMs = 30_000) {
      const deadline = Date.now() + deadlineMs;
      for (;;) {
        const { rows } = await deps.db.pool.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM run_outbox WHERE published_at IS NULL',
        );
        if (rows[0]?.n === 0) return;
        if (Date.now() > deadline) throw new Error('test publisher: outbox not drained in time');
        await new Promise((resolve) => setTimeout(resolve, pollMs));
      }
    },
    async stop() {
      controller.abort();
      await loop;
    },
  };
}
