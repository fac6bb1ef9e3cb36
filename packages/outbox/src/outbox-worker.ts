import { type Bus, type BusMessage, failureScope } from '@runstream/bus';
import { RunEventEnvelopeSchema } from '@runstream/events';
import {
  type ClaimedRun,
  type Database,
  type OutboxRepo,
  toEnvelope,
} from '@runstream/persistence';
import type pg from 'pg';

import type { OutboxMetricsHooks } from './metrics.js';

export interface OutboxWorkerOptions {
  /** Runs claimed per transaction. @default 32 */
  maxRuns?: number;
  /** Events read per claimed run per transaction. @default 500 */
  maxEventsPerRun?: number;
  /**
   * Bytes of event data per claim, beyond each run's first event (which always comes, so every
   * claimed run moves). After a publish times out, the next claims take half as much (runs,
   * events and bytes), down to one event, and grow back by doubling after each success.
   * @default 4194304 (4 MiB)
   */
  maxBytes?: number;
  /**
   * Failed publishes of one run, for a cause that belongs to the run (see `failureScope`), before
   * it is parked. A bus-wide failure never counts. @default 5
   */
  maxAttempts?: number;
  /** First backoff after a bus-wide failure; doubles per failure in a row. @default 100 */
  backoffBaseMs?: number;
  /** Largest backoff after bus-wide failures in a row. @default 5000 */
  backoffMaxMs?: number;
  /** Fallback poll when no wake-up arrives. @default 500 */
  pollIntervalMs?: number;
  /** How long published outbox rows are kept. @default 3600000 */
  retentionMs?: number;
  /** Rows per retention DELETE. @default 1000 */
  retentionBatchSize?: number;
  /** How often retention runs. @default 60000 */
  retentionIntervalMs?: number;
  /**
   * Upper bound of each statement of a claim-publish-mark transaction (the pool's
   * idle_in_transaction_session_timeout bounds the time between them). Keep it under the pool's
   * client-side query timeout (createDatabase's queryTimeoutMs, 8 s by default), or a slow claim
   * is taken for a dead connection. @default 5000
   */
  transactionTimeoutMs?: number;
}

/** The few logger methods the loop uses; a pino logger fits. */
export interface OutboxLogger {
  debug(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
  error(obj: Record<string, unknown>, msg: string): void;
}

export interface OutboxWorkerDeps {
  /** Its pool holds the claim-publish-mark transactions: one connection per loop at a time. */
  db: Pick<Database, 'pool'>;
  outbox: OutboxRepo;
  /** Where the events go; the loop is its only publisher. */
  bus: Bus;
  logger: OutboxLogger;
  /** Counted as the loop goes; `createOutboxMetrics` gives Prometheus ones. */
  metrics?: OutboxMetricsHooks;
}

/** What one claim transaction did. */
export interface BatchResult {
  runs: number;
  published: number;
  failedRuns: number;
  parkedRuns: number;
}

class AbortedBatch extends Error {
  readonly code = 'ABORTED';
}

/** A run's messages, validated: an event that breaks the envelope contract makes its run poison. */
function toMessages(run: ClaimedRun): { messages: BusMessage[]; error?: string } {
  const messages: BusMessage[] = [];
  for (const row of run.events) {
    const parsed = RunEventEnvelopeSchema.safeParse(toEnvelope(row));
    if (!parsed.success) {
      return {
        messages,
        error: `event ${row.seq} breaks the envelope contract: ${parsed.error.issues[0]?.message ?? 'invalid'}`,
      };
    }
    messages.push({ source: 'outbox', runId: run.runId, seq: row.seq, event: parsed.data });
  }
  return { messages };
}

const message = (error: unknown): string =>
  error instanceof Error ? error.message : String(error);

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * The only publisher: claims runs with unpublished outbox rows, publishes each run's rows in seq
 * order, and marks them published in the same short transaction, only after the bus accepted
 * them. A crash between publish and commit publishes again (at-least-once; subscribers drop
 * seq <= last); nothing is ever marked that was not published.
 */
export function createOutboxWorker(deps: OutboxWorkerDeps, options: OutboxWorkerOptions = {}) {
  const { db, outbox, bus, logger, metrics } = deps;
  const maxRuns = options.maxRuns ?? 32;
  const maxEventsPerRun = options.maxEventsPerRun ?? 500;
  const maxBytes = options.maxBytes ?? 4 * 1024 * 1024;
  const maxAttempts = options.maxAttempts ?? 5;
  const pollIntervalMs = options.pollIntervalMs ?? 500;
  const retentionMs = options.retentionMs ?? 3600_000;
  const retentionBatchSize = options.retentionBatchSize ?? 1000;
  const retentionIntervalMs = options.retentionIntervalMs ?? 60_000;
  const transactionTimeoutMs = options.transactionTimeoutMs ?? 5000;
  const backoffBaseMs = options.backoffBaseMs ?? 100;
  const backoffMaxMs = options.backoffMaxMs ?? 5000;

  // Halvings in force after publishes that failed bus-wide (review A3: the same too-large batch was
  // retried for ever on a slow link; on a link that slow, pings queue behind the data and the
  // client may also give the connection up as stale): each failure halves the next claims, each
  // success takes one halving back, so a slow link still moves, one event at a time at worst.
  let shrink = 0;
  // Set when the last batch failed in its publish, not in its claim or mark.
  let publishFailed = false;
  const claimLimits = () => {
    const scale = 2 ** shrink;
    return {
      maxRuns: Math.max(1, Math.floor(maxRuns / scale)),
      maxEventsPerRun: Math.max(1, Math.floor(maxEventsPerRun / scale)),
      maxBytes: Math.floor(maxBytes / scale),
    };
  };
  // Past this every limit is at its floor: one run, one event.
  const maxShrink = Math.ceil(Math.log2(Math.max(maxRuns, maxEventsPerRun, maxBytes, 1))) + 1;

  let woken = false;
  let wakeIdle: (() => void) | undefined;

  const publish = async (messages: BusMessage[]): Promise<void> => {
    const end = metrics?.publishDuration.startTimer();
    await bus.publish(messages);
    end?.();
  };

  async function drainOnce(signal: AbortSignal): Promise<BatchResult> {
    return inTransaction(async (tx) => {
      const claimed = await outbox.beginAndClaim(tx, {
        ...claimLimits(),
        statementTimeoutMs: transactionTimeoutMs,
      });
      const result: BatchResult = {
        runs: claimed.length,
        published: 0,
        failedRuns: 0,
        parkedRuns: 0,
      };
      if (claimed.length === 0) return result;

      const marks: { runId: string; upToSeq: number }[] = [];
      const failed: { runId: string; error: string; permanent?: boolean }[] = [];
      const ready: { runId: string; messages: BusMessage[] }[] = [];
      for (const run of claimed) {
        const { messages, error } = toMessages(run);
        // The valid prefix still goes out; the run stops at the bad event, never skipping a seq.
        if (messages.length > 0) ready.push({ runId: run.runId, messages });
        if (error) failed.push({ runId: run.runId, error });
        // An outbox row whose event row does not exist never will (an event and its outbox row
        // commit together): retrying cannot help, so the run parks at once (review B4).
        else if (run.missingSeq !== undefined)
          failed.push({
            runId: run.runId,
            error: `event ${run.missingSeq} does not exist: its outbox row is an orphan and cannot be published`,
            permanent: true,
          });
      }

      try {
        await publish(ready.flatMap((r) => r.messages));
        for (const r of ready)
          marks.push({ runId: r.runId, upToSeq: r.messages[r.messages.length - 1]!.seq });
      } catch (error) {
        // The bus, the network or the server failed every message alike: roll back without
        // counting, so an outage parks nobody (review A1).
        if (failureScope(error) === 'bus') {
          publishFailed = true;
          throw error;
        }
        metrics?.failures.inc({ kind: 'run' });
        // Something in the batch was refused for what it holds: find the runs at fault one by one.
        for (const r of ready) {
          try {
            await publish(r.messages);
            marks.push({ runId: r.runId, upToSeq: r.messages[r.messages.length - 1]!.seq });
          } catch (runError) {
            if (failureScope(runError) === 'bus') {
              publishFailed = true;
              throw runError;
            }
            failed.push({ runId: r.runId, error: message(runError) });
          }
        }
      }

      // Stopping now rolls back: the messages went out, so they will go out again (at-least-once),
      // and nothing is marked that this process cannot finish marking.
      if (signal.aborted) throw new AbortedBatch('stopped mid-batch');
      if (failed.length === 0) {
        // The mark takes the runs' row locks, which appends wait for: COMMIT goes with it.
        result.published = await outbox.markPublishedAndCommit(tx, marks);
        return result;
      }
      // Failures are recorded on each run's head row after the mark moved it past the valid prefix.
      result.published = marks.length > 0 ? await outbox.markPublished(tx, marks) : 0;
      for (const f of failed) {
        result.failedRuns++;
        if (await outbox.recordFailure(f.runId, f.error, f.permanent ? 1 : maxAttempts, tx)) {
          result.parkedRuns++;
          logger.error(
            { runId: f.runId, error: f.error, attempts: f.permanent ? 1 : maxAttempts },
            f.permanent
              ? 'run parked: it cannot be published'
              : 'run parked after repeated publish failures',
          );
        } else {
          logger.warn({ runId: f.runId, error: f.error }, 'publish failed for a run; will retry');
        }
      }
      return result;
    });
  }

  /**
   * One short transaction on a raw pool client: the claim's row locks live exactly as long as it,
   * and a statement timeout bounds it. Any error or abort rolls back, which releases the claim.
   */
  async function inTransaction<T>(fn: (tx: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await db.pool.connect();
    let broken: Error | undefined;
    try {
      // fn opens the transaction itself, in the claim's round trip (beginAndClaim), and may
      // commit it in its last round trip (markPublishedAndCommit).
      const result = await fn(client);
      if (client.getTransactionStatus() !== 'I') await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch((rollbackError: Error) => {
        // A connection that cannot roll back is dropped, not reused.
        broken = rollbackError;
      });
      throw error;
    } finally {
      client.release(broken);
    }
  }

  async function idle(signal: AbortSignal): Promise<void> {
    if (woken) {
      woken = false;
      return;
    }
    const inner = new AbortController();
    wakeIdle = () => inner.abort();
    const onAbort = () => inner.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    await sleep(pollIntervalMs, inner.signal);
    signal.removeEventListener('abort', onAbort);
    wakeIdle = undefined;
    woken = false;
  }

  async function retention(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        const before = new Date(Date.now() - retentionMs);
        let deleted = 0;
        for (let n = retentionBatchSize; n === retentionBatchSize && !signal.aborted;) {
          n = await outbox.deletePublished(before, retentionBatchSize);
          deleted += n;
        }
        if (deleted > 0) logger.debug({ deleted }, 'retention deleted published outbox rows');
      } catch (error) {
        logger.warn({ err: error }, 'retention failed; will retry');
      }
      await sleep(retentionIntervalMs, signal);
    }
  }

  return {
    /** Call on every wake-up notification (and on the listener's reconnect). */
    wake(): void {
      woken = true;
      wakeIdle?.();
    },

    drainOnce,

    /** Runs until `signal` aborts; resolves once the current batch has committed or rolled back. */
    async run(signal: AbortSignal): Promise<void> {
      const retained = retention(signal);
      let failuresInARow = 0;
      while (!signal.aborted) {
        try {
          // Wake-ups that arrive during a batch must not be lost: clear before, look after.
          woken = false;
          const result = await drainOnce(signal);
          failuresInARow = 0;
          if (shrink > 0 && result.runs > 0) shrink--;
          if (result.published > 0) metrics?.published.inc(result.published);
          if (result.parkedRuns > 0) metrics?.parked.inc(result.parkedRuns);
          // Having published, look again at once (more is likely waiting); else wait for a
          // wake-up or the fallback poll.
          if (result.published === 0) await idle(signal);
        } catch (error) {
          if (signal.aborted) break;
          metrics?.failures.inc({ kind: 'transient' });
          if (publishFailed && shrink < maxShrink) {
            shrink++;
            logger.warn({ claim: claimLimits() }, 'publish failed; claiming less');
          }
          publishFailed = false;
          // Full jitter: replicas that failed together (a database failover, a broker restart)
          // do not come back together.
          const ceiling = Math.min(backoffMaxMs, backoffBaseMs * 2 ** Math.min(failuresInARow, 30));
          const backoffMs = Math.round(Math.random() * ceiling);
          failuresInARow++;
          logger.warn({ err: error, backoffMs }, 'outbox batch failed; rolled back, retrying');
          await sleep(backoffMs, signal);
        }
      }
      await retained;
    },
  };
}

export type OutboxWorker = ReturnType<typeof createOutboxWorker>;
