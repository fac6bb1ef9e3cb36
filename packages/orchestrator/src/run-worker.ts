import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

import type { RunError } from '@runstream/events';
import {
  type RunEventRepo,
  type RunRecord,
  type RunRepo,
  RunTerminalError,
} from '@runstream/persistence';

import { type RunOutcome, executeRun } from './execute-run.js';
import type { GraphRegistry } from './graph-registry.js';
import { RunAbort } from './run-abort.js';
import { type TracerOptions, type Wakeup, createTracer } from './tracer.js';

/** The slice of a pino logger the worker uses. */
export interface WorkerLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface RunWorkerDeps {
  runs: Pick<RunRepo, 'claimQueued' | 'renewLeases' | 'cancelRequested' | 'takeExpiredLeases'>;
  events: Pick<RunEventRepo, 'append'>;
  wakeup: Wakeup;
  registry: GraphRegistry;
  logger: WorkerLogger;
}

export interface RunWorkerOptions {
  /**
   * Names this worker in leases and in run.started.
   * @default `${hostname}:${pid}:${random}`
   */
  workerId?: string;
  /**
   * Runs executed at once.
   * @default 4
   */
  concurrency?: number;
  /**
   * Lease length in milliseconds: a run whose worker has not renewed it for this long is ended
   * by another worker with WORKER_LOST.
   * @default 30000
   */
  leaseMs?: number;
  /**
   * Lease renewal interval.
   * @default leaseMs / 3
   */
  renewMs?: number;
  /**
   * How often the worker looks for queued runs while it has a free slot and found none.
   * @default 250
   */
  pollMs?: number;
  /**
   * How often running runs are checked for cancel requests; the contract wants a cancel to reach
   * the graph within 1 s.
   * @default 250
   */
  cancelPollMs?: number;
  /**
   * How often the worker looks for runs whose lease expired.
   * @default 2000
   */
  reapMs?: number;
  /** Batching of each run's events. */
  tracer?: TracerOptions;
}

interface Active {
  run: RunRecord;
  controller: AbortController;
  done: Promise<void>;
}

export interface RunWorker {
  readonly workerId: string;
  /** Starts claiming and executing runs. */
  start(): void;
  /**
   * Stops claiming at once, lets in-flight runs finish for `drainMs`, then cancels the rest
   * (run.cancelled) and waits for them to end.
   */
  stop(options?: { drainMs?: number }): Promise<void>;
  /** Runs executing now. */
  readonly active: number;
}

export function createRunWorker(deps: RunWorkerDeps, options: RunWorkerOptions = {}): RunWorker {
  const workerId =
    options.workerId ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const concurrency = options.concurrency ?? 4;
  const leaseMs = options.leaseMs ?? 30_000;
  const renewMs = options.renewMs ?? Math.max(1, Math.floor(leaseMs / 3));
  const pollMs = options.pollMs ?? 250;
  const cancelPollMs = options.cancelPollMs ?? 250;
  const reapMs = options.reapMs ?? 2000;
  const { logger } = deps;

  const active = new Map<string, Active>();
  // Claiming and reaping stop first; the heartbeat keeps leases alive until the last run ends.
  const claiming = new AbortController();
  const heartbeat = new AbortController();
  let slotFreed: (() => void) | undefined;
  const loops: Promise<void>[] = [];

  const execute = (run: RunRecord): void => {
    const controller = new AbortController();
    const done = (async () => {
      const outcome = await runOne(run, controller.signal);
      log(run, outcome);
    })()
      .catch((error: unknown) =>
        logger.error({ runId: run.id, err: error }, 'run execution crashed'),
      )
      .finally(() => {
        active.delete(run.id);
        slotFreed?.();
      });
    active.set(run.id, { run, controller, done });
  };

  const runOne = async (run: RunRecord, signal: AbortSignal): Promise<RunOutcome> => {
    const tracer = createTracer(deps, run.id, options.tracer);
    // Cancelled before any worker claimed it: end it without starting it.
    if (run.cancelRequestedAt) {
      const reason = 'cancel requested before the run started';
      await tracer.end({ type: 'run.cancelled', data: { reason } });
      return { status: 'cancelled', reason };
    }
    const graph = deps.registry.get(run.graph);
    if (!graph) {
      const error: RunError = {
        code: 'UNKNOWN_GRAPH',
        message: `no graph "${run.graph}" in this worker`,
      };
      await tracer.end({ type: 'run.failed', data: { error } });
      return { status: 'failed', error };
    }
    const outcome = await executeRun({
      runId: run.id,
      graph,
      input: run.input,
      tracer,
      signal,
      worker: workerId,
    });
    if (
      outcome.status === 'abandoned' &&
      !(outcome.cause instanceof RunAbort) &&
      !(outcome.cause instanceof RunTerminalError)
    ) {
      // The tracer's append failed (the batch rolled back, so seqs stay gapless). One fresh
      // attempt to end the run; if that fails too, the lease expires and another worker ends it.
      const error: RunError = {
        code: 'PERSISTENCE_FAILED',
        message: 'the run could not write its events',
      };
      await deps.events.append(run.id, [{ type: 'run.failed', data: { error } }]).then(
        () => deps.wakeup.notify(),
        () => undefined,
      );
    }
    return outcome;
  };

  const log = (run: RunRecord, outcome: RunOutcome): void => {
    const fields = { runId: run.id, graph: run.graph, status: outcome.status };
    if (outcome.status === 'abandoned')
      logger.warn({ ...fields, err: outcome.cause }, 'run abandoned');
    else if (outcome.status === 'failed')
      logger.info({ ...fields, error: outcome.error }, 'run ended');
    else logger.info(fields, 'run ended');
  };

  const claimLoop = async (): Promise<void> => {
    const signal = claiming.signal;
    while (!signal.aborted) {
      const free = concurrency - active.size;
      let claimed = 0;
      if (free > 0) {
        try {
          const runs = await deps.runs.claimQueued(workerId, free, leaseMs);
          // A run claimed while stopping is still executed: its status is already `running`.
          for (const run of runs) execute(run);
          claimed = runs.length;
        } catch (error) {
          logger.error({ err: error }, 'claim failed');
        }
      }
      if (signal.aborted) return;
      if (free > 0 && claimed === free) continue;
      // Wait for a poll tick, or less when a slot frees up or the worker stops.
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          clearTimeout(timer);
          signal.removeEventListener('abort', wake);
          slotFreed = undefined;
          resolve();
        };
        const timer = setTimeout(wake, pollMs);
        slotFreed = wake;
        signal.addEventListener('abort', wake);
      });
    }
  };

  const heartbeatLoop = async (): Promise<void> => {
    const signal = heartbeat.signal;
    let lastRenew = Date.now();
    while (!signal.aborted) {
      await sleep(cancelPollMs, undefined, { signal }).catch(() => undefined);
      if (signal.aborted) return;
      const ids = [...active.keys()];
      if (ids.length === 0) continue;
      try {
        if (Date.now() - lastRenew >= renewMs) {
          lastRenew = Date.now();
          const held = await deps.runs.renewLeases(workerId, ids, leaseMs);
          const heldIds = new Set(held.map((r) => r.id));
          for (const id of ids) {
            if (!heldIds.has(id))
              abort(id, new RunAbort('LEASE_LOST', 'the run is no longer leased to this worker'));
          }
          for (const r of held)
            if (r.cancelRequested)
              abort(r.id, new RunAbort('CANCEL_REQUESTED', 'cancel requested'));
        } else {
          for (const id of await deps.runs.cancelRequested(ids)) {
            abort(id, new RunAbort('CANCEL_REQUESTED', 'cancel requested'));
          }
        }
      } catch (error) {
        logger.error({ err: error }, 'heartbeat failed');
      }
    }
  };

  const abort = (runId: string, reason: RunAbort): void => {
    const entry = active.get(runId);
    if (entry && !entry.controller.signal.aborted) entry.controller.abort(reason);
  };

  const reapLoop = async (): Promise<void> => {
    const signal = claiming.signal;
    while (!signal.aborted) {
      try {
        const expired = await deps.runs.takeExpiredLeases(workerId, 100, leaseMs);
        for (const run of expired) await endLost(run);
      } catch (error) {
        logger.error({ err: error }, 'reaping expired leases failed');
      }
      await sleep(reapMs, undefined, { signal }).catch(() => undefined);
    }
  };

  const endLost = async (run: RunRecord & { lostOwner: string | null }): Promise<void> => {
    // A cancel that was requested before the worker died is what the user asked for: honour it.
    const event = run.cancelRequestedAt
      ? ({
          type: 'run.cancelled',
          data: { reason: 'cancel requested; its worker was lost' },
        } as const)
      : ({
          type: 'run.failed',
          data: {
            error: {
              code: 'WORKER_LOST',
              message: 'the worker executing the run stopped renewing its lease',
            },
          },
        } as const);
    try {
      await deps.events.append(run.id, [event]);
      deps.wakeup.notify();
      logger.warn(
        { runId: run.id, lostOwner: run.lostOwner, type: event.type },
        'ended a run whose worker was lost',
      );
    } catch (error) {
      // RUN_TERMINAL: the old worker was alive after all and ended the run first; one terminal wins.
      if (!(error instanceof RunTerminalError)) throw error;
    }
  };

  return {
    workerId,
    get active() {
      return active.size;
    },
    start() {
      logger.info({ workerId, concurrency, leaseMs }, 'run-worker started');
      loops.push(claimLoop(), heartbeatLoop(), reapLoop());
    },
    async stop({ drainMs = 7000 } = {}) {
      claiming.abort();
      const inFlight = () => Promise.all([...active.values()].map((a) => a.done));
      if (active.size > 0) {
        logger.info({ runs: active.size, drainMs }, 'draining in-flight runs');
        const deadline = new AbortController();
        const drained = await Promise.race([
          inFlight().then(() => true),
          sleep(drainMs, false, { signal: deadline.signal }).catch(() => false),
        ]);
        deadline.abort();
        if (!drained) {
          logger.warn({ runs: active.size }, 'drain deadline: cancelling in-flight runs');
          for (const id of active.keys())
            abort(id, new RunAbort('SHUTDOWN', 'the worker is shutting down'));
          await inFlight();
        }
      }
      heartbeat.abort();
      await Promise.all(loops);
    },
  };
}
