import { setTimeout as sleep } from 'node:timers/promises';

import type { RunEventBody, TerminalEventType } from '@runstream/events';
import {
  type AppendResult,
  type RunEventRepo,
  isTransientDatabaseError,
} from '@runstream/persistence';

import { type BackoffOptions, backoffDelay } from './backoff.js';
import type { DatabaseHealth } from './database-health.js';
import { RunLimitError } from './errors.js';
import type { NodeEventBody } from './graph.js';

/** Wakes the outbox workers after a commit; `createOutboxWakeup(pool)` in production. */
export interface Wakeup {
  notify(): void;
  /**
   * Asks whether the next append may wake the outbox from its own statement (one hop fewer, ADR
   * 0027); returns the function to call once that append settled, or undefined when it must not.
   */
  inline?(): (() => void) | undefined;
}

export interface TracerDeps {
  events: Pick<RunEventRepo, 'append'>;
  wakeup: Wakeup;
  /** Told about appends that failed and are retried, and about the first one that works again. */
  health?: Pick<DatabaseHealth, 'failed' | 'ok'>;
}

/** Limits on what a run's nodes may emit; lifecycle and terminal events do not count. */
export interface RunLimits {
  /**
   * Events the run's nodes may emit.
   * @default unlimited
   */
  maxEvents?: number;
  /**
   * Summed bytes of those events' `data`, as UTF-8 JSON.
   * @default unlimited
   */
  maxBytes?: number;
  /**
   * Wall time from the tracer's creation after which emits are refused, in milliseconds.
   * @default unlimited
   */
  maxDurationMs?: number;
}

/** The lease a run's writer holds, and where the run's seqs stand at the start. */
export interface TracerFence {
  /** The worker holding the run's lease. */
  leaseOwner: string;
  /** The run's next seq when the worker got it (`runs.next_seq`). */
  nextSeq: number;
}

export interface TracerOptions {
  /**
   * Most events in one append statement. Group commit (ADR 0027): an event emitted while no append
   * is in flight is appended at once, alone; events emitted while one is in flight wait for it and
   * go together in the next statement, up to this many. A node that fills a whole batch while one
   * is in flight waits for the append in flight (back-pressure).
   * @default 256
   */
  maxBatch?: number;
  /**
   * Fences every append with the lease owner and the expected seq: a worker that lost the run
   * writes nothing, and an append that failed for a transient reason (a lost connection, too many
   * clients, a pool timeout) is retried with backoff until it works, the fence fails or `signal`
   * is aborted. Without a fence a failed append is final.
   */
  fence?: TracerFence;
  /** Aborted when the writer gives up: retries stop and every later call fails. */
  signal?: AbortSignal;
  /** Backoff of the retries. @default { baseMs: 100, maxMs: 5000 } */
  retry?: BackoffOptions;
  limits?: RunLimits;
}

/** The tracer was used after the run's terminal event, or after it was discarded. */
export class TracerClosedError extends Error {
  override readonly name = 'TracerClosedError';
  readonly code = 'TRACER_CLOSED';

  constructor(readonly runId: string) {
    super(`run ${runId}: the tracer is closed`);
  }
}

/** An event that ends a run. */
export type TerminalEventBody = RunEventBody<TerminalEventType>;

/**
 * The only way a run's events are written. Every event goes through one buffer and one chain of
 * appends, so events are persisted in the order they were emitted and a run's seqs follow that
 * order. Appends go through the event repository (event and outbox row in one statement); the
 * tracer never publishes: after each commit it wakes the outbox workers, which do.
 */
export interface Tracer {
  readonly runId: string;
  /** Buffers an event; see NodeTracer.emit for when it waits. */
  emit(event: NodeEventBody): Promise<void>;
  /** Appends a lifecycle event with everything buffered before it, and waits for the commit. */
  append(event: RunEventBody): Promise<void>;
  /**
   * Appends the buffered events and the terminal event in one statement (so nothing can follow
   * it), waits for the commit, and closes the tracer.
   */
  end(event: TerminalEventBody): Promise<AppendResult>;
  /**
   * Drops whatever is buffered and closes the tracer, for a run this worker no longer owns; resolves
   * once an append already in flight has settled, so nothing is written after it resolves.
   */
  discard(): Promise<void>;
  /** The first append failure, if any: once one failed, nothing more is written. */
  readonly failure: unknown;
  /** The seq the next append starts at, as far as this tracer knows (with a fence: exactly). */
  readonly nextSeq: number;
}

export function createTracer(deps: TracerDeps, runId: string, options: TracerOptions = {}): Tracer {
  const maxBatch = options.maxBatch ?? 256;
  let buffer: RunEventBody[] = [];
  // Appends run one after another: the next batch's statement starts only after the previous
  // one committed, which is what keeps emit order equal to seq order.
  let chain: Promise<AppendResult | undefined> = Promise.resolve(undefined);
  // Appends written or waiting in the chain; 0 means the next emit is appended at once.
  let inFlight = 0;
  // An append of what was emitted in this tick is scheduled (one microtask: events a node emits
  // without awaiting in between share a statement, and nothing waits on a timer).
  let scheduled = false;
  let failure: unknown;
  let failed = false;
  let closed = false;
  const { fence, signal, limits = {} } = options;
  let nextSeq = fence?.nextSeq ?? 0;
  const startedAt = Date.now();
  let emitted = 0;
  let emittedBytes = 0;
  let overLimit: RunLimitError | undefined;
  signal?.addEventListener(
    'abort',
    () => {
      if (failed) return;
      failed = true;
      failure = signal.reason;
    },
    { once: true },
  );

  const check = (): void => {
    if (failed) throw failure;
    if (closed) throw new TracerClosedError(runId);
    // Once over a limit, only the terminal event may still be written (end() skips this).
    if (overLimit) throw overLimit;
  };

  /** Counts a node's event against the run's limits; the event that would go over is refused. */
  const charge = (event: NodeEventBody): void => {
    if (limits.maxDurationMs !== undefined && Date.now() - startedAt > limits.maxDurationMs)
      overLimit = new RunLimitError('durationMs', limits.maxDurationMs);
    else if (limits.maxEvents !== undefined && emitted + 1 > limits.maxEvents)
      overLimit = new RunLimitError('events', limits.maxEvents);
    else if (limits.maxBytes !== undefined) {
      const bytes = Buffer.byteLength(JSON.stringify(event.data), 'utf8');
      if (emittedBytes + bytes > limits.maxBytes)
        overLimit = new RunLimitError('bytes', limits.maxBytes);
      else emittedBytes += bytes;
    }
    if (overLimit) throw overLimit;
    emitted++;
  };

  /**
   * One batch's append. Fenced, it is safe to repeat after an ambiguous failure (the repository
   * returns the committed result instead of writing twice), so a transient failure is retried for
   * as long as it takes: PostgreSQL refusing connections or a pool timeout must never fail a run.
   */
  const write = async (batch: RunEventBody[], wakeOutbox: boolean): Promise<AppendResult> => {
    for (let attempt = 0; ; attempt++) {
      try {
        const result = await deps.events.append(
          runId,
          batch,
          fence && { leaseOwner: fence.leaseOwner, expectedSeq: nextSeq },
          undefined,
          wakeOutbox ? { wakeOutbox } : undefined,
        );
        nextSeq = result.lastSeq + 1;
        if (attempt > 0) deps.health?.ok();
        return result;
      } catch (error) {
        if (!fence || !isTransientDatabaseError(error) || signal?.aborted) throw error;
        deps.health?.failed(error, 'append');
        const waited = await sleep(backoffDelay(attempt, options.retry), true, { signal }).catch(
          () => false,
        );
        if (!waited) throw error;
      }
    }
  };

  const flush = (): Promise<AppendResult | undefined> => {
    if (buffer.length === 0) return chain;
    const batch = buffer;
    buffer = [];
    inFlight++;
    chain = chain.then(async () => {
      // The statement wakes the outbox itself when nothing else of this process is waking it.
      const inline = deps.wakeup.inline?.();
      try {
        const result = await write(batch, inline !== undefined);
        inline?.();
        if (!result.wokeOutbox) deps.wakeup.notify();
        return result;
      } catch (error) {
        inline?.();
        if (!failed) {
          failed = true;
          failure = error;
        }
        throw error;
      } finally {
        inFlight--;
        // Group commit: what was emitted while this statement ran goes in the next one, now.
        if (inFlight === 0 && buffer.length > 0 && !failed) void flush().catch(() => undefined);
      }
    });
    return chain;
  };

  /** Appends at once when nothing is in flight; else the append in flight takes it on (above). */
  const flushSoon = (): void => {
    if (inFlight > 0 || scheduled) return;
    scheduled = true;
    queueMicrotask(() => {
      scheduled = false;
      // A failed flush is kept in `failure` and thrown by the node's next call.
      if (inFlight === 0 && !failed) void flush().catch(() => undefined);
    });
  };

  return {
    runId,
    get failure() {
      return failure;
    },
    get nextSeq() {
      return nextSeq;
    },
    async emit(event) {
      check();
      charge(event);
      buffer.push(event);
      if (buffer.length < maxBatch) {
        flushSoon();
        return;
      }
      // Back-pressure with one batch in flight: wait for the previous append while this one is
      // written, so the node keeps filling the next batch but memory stays bounded.
      const previous = chain;
      void flush().catch(() => undefined);
      await previous;
      check();
    },
    async append(event) {
      check();
      buffer.push(event);
      await flush();
    },
    async end(event) {
      if (failed) throw failure;
      if (closed) throw new TracerClosedError(runId);
      buffer.push(event);
      closed = true;
      const result = await flush();
      if (!result) throw new TracerClosedError(runId);
      return result;
    },
    async discard() {
      closed = true;
      buffer = [];
      await chain.catch(() => undefined);
    },
  };
}
