import type { RunEventBody, TerminalEventType } from '@runstream/events';
import type { AppendResult, RunEventRepo } from '@runstream/persistence';

import type { NodeEventBody } from './graph.js';

/** Wakes the outbox workers after a commit; `createOutboxWakeup(pool)` in production. */
export interface Wakeup {
  notify(): void;
}

export interface TracerDeps {
  events: Pick<RunEventRepo, 'append'>;
  wakeup: Wakeup;
}

export interface TracerOptions {
  /**
   * Buffered events that trigger an append at once.
   * @default 256
   */
  maxBatch?: number;
  /**
   * How long a buffered event may wait for neighbours before it is appended, in milliseconds.
   * @default 5
   */
  flushMs?: number;
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
}

export function createTracer(deps: TracerDeps, runId: string, options: TracerOptions = {}): Tracer {
  const maxBatch = options.maxBatch ?? 256;
  const flushMs = options.flushMs ?? 5;
  let buffer: RunEventBody[] = [];
  // Appends run one after another: the next batch's statement starts only after the previous
  // one committed, which is what keeps emit order equal to seq order.
  let chain: Promise<AppendResult | undefined> = Promise.resolve(undefined);
  let timer: NodeJS.Timeout | undefined;
  let failure: unknown;
  let failed = false;
  let closed = false;

  const check = (): void => {
    if (failed) throw failure;
    if (closed) throw new TracerClosedError(runId);
  };

  const flush = (): Promise<AppendResult | undefined> => {
    if (timer) {
      clearTimeout(timer);
      timer = undefined;
    }
    if (buffer.length === 0) return chain;
    const batch = buffer;
    buffer = [];
    chain = chain.then(async () => {
      try {
        const result = await deps.events.append(runId, batch);
        deps.wakeup.notify();
        return result;
      } catch (error) {
        if (!failed) {
          failed = true;
          failure = error;
        }
        throw error;
      }
    });
    return chain;
  };

  const flushSoon = (): void => {
    // A failed timed flush is kept in `failure` and thrown by the node's next call.
    timer ??= setTimeout(() => void flush().catch(() => undefined), flushMs);
  };

  return {
    runId,
    get failure() {
      return failure;
    },
    async emit(event) {
      check();
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
      check();
      buffer.push(event);
      closed = true;
      const result = await flush();
      if (!result) throw new TracerClosedError(runId);
      return result;
    },
    async discard() {
      closed = true;
      buffer = [];
      if (timer) clearTimeout(timer);
      timer = undefined;
      await chain.catch(() => undefined);
    },
  };
}
