import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

import type { RunError } from '@runstream/events';
import {
  type GraphRegistryRepo,
  LeaseLostError,
  type RunEventRepo,
  type RunLeaseRepo,
  type RunRecord,
  RunTerminalError,
  type TakenRun,
  isTransientDatabaseError,
} from '@runstream/persistence';

import { type BackoffOptions, backoffDelay } from './backoff.js';
import { type WorkerLogger, createDatabaseHealth } from './database-health.js';
import { RunLimitError } from './errors.js';
import { type RunOutcome, executeRun } from './execute-run.js';
import type { GraphRegistry } from './graph-registry.js';
import { RunAbort } from './run-abort.js';
import { type RunLimits, type TracerOptions, type Wakeup, createTracer } from './tracer.js';

export type { WorkerLogger } from './database-health.js';

export interface RunWorkerDeps {
  leases: Pick<
    RunLeaseRepo,
    'claimQueued' | 'releaseClaimed' | 'renewLeases' | 'cancelRequested' | 'takeExpiredLeases'
  >;
  events: Pick<RunEventRepo, 'append'>;
  /** Where the worker registers the graphs it serves, so that the api accepts their runs. */
  graphs: Pick<GraphRegistryRepo, 'register'>;
  wakeup: Wakeup;
  /** The graphs this worker serves: it claims runs of these only. */
  registry: GraphRegistry;
  logger: WorkerLogger;
}

/** The contract's per-run limits, with its defaults. */
export const DEFAULT_RUN_LIMITS = {
  maxEvents: 100_000,
  maxBytes: 268_435_456,
  maxDurationMs: 3_600_000,
} as const satisfies Required<RunLimits>;

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
  /**
   * How often the worker registers its graphs again; each registration vouches for them for
   * three of these (a version nobody vouches for is not live: ADR 0021).
   * @default renewMs
   */
  registrationMs?: number;
  /**
   * Runs of one tenant running at once over all workers (RUNSTREAM_TENANT_MAX_RUNNING); claims
   * pick fairly across tenants below it.
   * @default 16
   */
  tenantMaxRunning?: number;
  /**
   * Per-run limits; a run over one ends run.failed LIMIT_EXCEEDED.
   * @default DEFAULT_RUN_LIMITS
   */
  limits?: RunLimits;
  /**
   * Backoff of the loops and of appends while the database fails.
   * @default { baseMs: pollMs, maxMs: 5000 }
   */
  retry?: BackoffOptions;
  /**
   * On stop, how long runs aborted at the drain deadline get to write run.failed WORKER_SHUTDOWN
   * before the worker gives up on them (their leases then expire and the reaper ends them).
   * @default 1000
   */
  shutdownGraceMs?: number;
  /** Batching of each run's events. */
  tracer?: Pick<TracerOptions, 'maxBatch'>;
}

interface Active {
  run: RunRecord;
  /** The run's signal, given to its nodes: cancel, shutdown, lease lost, wall-time limit. */
  controller: AbortController;
  /** Aborted when the worker gives up writing for the run: its appends stop retrying. */
  writes: AbortController;
  done: Promise<void>;
}

export interface RunWorker {
  readonly workerId: string;
  /** Starts claiming and executing runs. */
  start(): void;
  /**
   * Stops claiming at once and waits for a claim in flight (what it claimed is handed back to the
   * queue, never executed), lets in-flight runs finish for `drainMs`, then ends the rest with
   * run.failed WORKER_SHUTDOWN and waits for that (bounded by `shutdownGraceMs`).
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
  const registrationMs = options.registrationMs ?? renewMs;
  const registrations = deps.registry.registrations();
  const served = registrations.map((r) => ({ name: r.name, version: r.version }));
  const tenantMaxRunning = options.tenantMaxRunning ?? 16;
  const limits = { ...DEFAULT_RUN_LIMITS, ...options.limits };
  const retry = { baseMs: pollMs, maxMs: 5000, ...options.retry };
  const shutdownGraceMs = options.shutdownGraceMs ?? 1000;
  const { logger } = deps;
  const health = createDatabaseHealth(logger);

  const active = new Map<string, Active>();
  // Claiming and reaping stop first; the heartbeat keeps leases alive until the last run ends.
  const claiming = new AbortController();
  const heartbeat = new AbortController();
  let slotFreed: (() => void) | undefined;
  let claimLoopDone: Promise<void> = Promise.resolve();
  let reapLoopDone: Promise<void> = Promise.resolve();
  let registrationLoopDone: Promise<void> = Promise.resolve();
  let heartbeatLoopDone: Promise<void> = Promise.resolve();

  const execute = (run: RunRecord): void => {
    const controller = new AbortController();
    const writes = new AbortController();
    // Wall time, for nodes that wait without emitting; the tracer refuses late emits itself.
    const deadline = setTimeout(() => {
      if (!controller.signal.aborted)
        controller.abort(new RunLimitError('durationMs', limits.maxDurationMs));
    }, limits.maxDurationMs);
    deadline.unref();
    const done = (async () => {
      const outcome = await runOne(run, controller.signal, writes.signal);
      log(run, outcome);
    })()
      .catch((error: unknown) =>
        logger.error({ runId: run.id, err: error }, 'run execution crashed'),
      )
      .finally(() => {
        clearTimeout(deadline);
        active.delete(run.id);
        slotFreed?.();
      });
    active.set(run.id, { run, controller, writes, done });
  };

  const runOne = async (
    run: RunRecord,
    signal: AbortSignal,
    writes: AbortSignal,
  ): Promise<RunOutcome> => {
    const tracer = createTracer({ events: deps.events, wakeup: deps.wakeup, health }, run.id, {
      ...options.tracer,
      fence: { leaseOwner: workerId, nextSeq: run.nextSeq },
      signal: writes,
      retry,
      limits,
    });
    // Cancelled before any worker claimed it: end it without starting it.
    if (run.cancelRequestedAt) {
      const reason = 'cancel requested before the run started';
      await tracer.end({ type: 'run.cancelled', data: { reason } });
      return { status: 'cancelled', reason };
    }
    const graph = deps.registry.get(run.graph);
    if (!graph) {
      // The claim takes only the graphs this worker serves, so this is a bug, not a user's
      // mistake: the run goes back to the queue for a worker that has its graph, never failed.
      logger.error(
        { runId: run.id, graph: run.graph },
        'claimed a run of a graph it does not serve',
      );
      await handBack([run]);
      return { status: 'abandoned', cause: new Error(`no graph "${run.graph}" in this worker`) };
    }
    const outcome = await executeRun({
      runId: run.id,
      graph,
      input: run.input,
      tracer,
      signal,
      worker: workerId,
    });
    const cause = outcome.status === 'abandoned' ? outcome.cause : undefined;
    if (
      outcome.status === 'abandoned' &&
      !writes.aborted &&
      !(cause instanceof RunAbort) &&
      !(cause instanceof RunTerminalError) &&
      !(cause instanceof LeaseLostError) &&
      !isTransientDatabaseError(cause)
    ) {
      // The database refused an append for good (the batch rolled back, so seqs stay gapless).
      // One fresh, fenced attempt to end the run; if that fails too, the lease expires and
      // another worker ends it.
      const error: RunError = {
        code: 'PERSISTENCE_FAILED',
        message: 'the run could not write its events',
      };
      await deps.events
        .append(run.id, [{ type: 'run.failed', data: { error } }], {
          leaseOwner: workerId,
          expectedSeq: tracer.nextSeq,
        })
        .then(
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

  /** Sleeps `ms`, or less when the signal aborts (or, with `wakeOnSlot`, when a slot frees up). */
  const pause = (ms: number, signal: AbortSignal, wakeOnSlot = false): Promise<void> =>
    new Promise<void>((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', wake);
        if (slotFreed === wake) slotFreed = undefined;
        resolve();
      };
      const timer = setTimeout(wake, ms);
      if (wakeOnSlot) slotFreed = wake;
      signal.addEventListener('abort', wake);
    });

  /**
   * Runs claimed by a claim that was in flight when stop() began: the worker will not execute
   * them, so they go back to the queue at once (review A7: they used to run on a closing pool,
   * then wait 30 s for the reaper's WORKER_LOST).
   */
  const handBack = async (runs: readonly RunRecord[]): Promise<void> => {
    if (runs.length === 0) return;
    const ids = runs.map((r) => r.id);
    try {
      const released = await deps.leases.releaseClaimed(workerId, ids);
      logger.info({ runIds: released }, 'handed runs claimed while stopping back to the queue');
    } catch (error) {
      logger.warn(
        { runIds: ids, err: error },
        'could not hand runs back to the queue; their leases expire and they end WORKER_LOST',
      );
    }
  };

  const claimLoop = async (): Promise<void> => {
    const signal = claiming.signal;
    let failures = 0;
    while (!signal.aborted) {
      const free = concurrency - active.size;
      let claimed = 0;
      if (free > 0) {
        try {
          const runs = await deps.leases.claimQueued(workerId, {
            graphs: served,
            limit: free,
            leaseMs,
            tenantMaxRunning,
          });
          health.ok();
          failures = 0;
          if (signal.aborted) return await handBack(runs);
          for (const run of runs) execute(run);
          claimed = runs.length;
        } catch (error) {
          health.failed(error, 'claim');
          failures++;
        }
      }
      if (signal.aborted) return;
      if (failures > 0) await pause(backoffDelay(failures - 1, retry), signal);
      else if (free === 0 || claimed < free) await pause(pollMs, signal, true);
    }
  };

  const heartbeatLoop = async (): Promise<void> => {
    const signal = heartbeat.signal;
    let lastRenew = Date.now();
    let failures = 0;
    while (!signal.aborted) {
      const wait = failures > 0 ? backoffDelay(failures - 1, retry) : cancelPollMs;
      await sleep(wait, undefined, { signal }).catch(() => undefined);
      if (signal.aborted) return;
      const ids = [...active.keys()];
      if (ids.length === 0) continue;
      try {
        if (Date.now() - lastRenew >= renewMs) {
          const held = await deps.leases.renewLeases(workerId, ids, leaseMs);
          lastRenew = Date.now();
          const heldIds = new Set(held.map((r) => r.id));
          for (const id of ids) {
            if (!heldIds.has(id))
              abort(id, new RunAbort('LEASE_LOST', 'the run is no longer leased to this worker'));
          }
          for (const r of held)
            if (r.cancelRequested)
              abort(r.id, new RunAbort('CANCEL_REQUESTED', 'cancel requested'));
        } else {
          for (const id of await deps.leases.cancelRequested(ids)) {
            abort(id, new RunAbort('CANCEL_REQUESTED', 'cancel requested'));
          }
        }
        health.ok();
        failures = 0;
      } catch (error) {
        health.failed(error, 'heartbeat');
        failures++;
      }
    }
  };

  const abort = (runId: string, reason: RunAbort): void => {
    const entry = active.get(runId);
    if (!entry) return;
    if (!entry.controller.signal.aborted) entry.controller.abort(reason);
    // Another worker owns the run now: retrying this one's appends can only fail the fence.
    if (reason.code === 'LEASE_LOST') entry.writes.abort(reason);
  };

  /**
   * Registers the worker's graphs at once, then again every `registrationMs`, each time vouching
   * for them for three intervals: the api accepts runs of a graph once it is registered, and runs
   * checked against this version wait for a worker of it while one is live.
   */
  const registrationLoop = async (): Promise<void> => {
    const signal = claiming.signal;
    let failures = 0;
    let announced = false;
    while (!signal.aborted && registrations.length > 0) {
      try {
        await deps.graphs.register(registrations, { liveForMs: 3 * registrationMs });
        if (!announced) {
          logger.info(
            { graphs: registrations.map((r) => `${r.name}@${r.version}`) },
            'registered the graphs this worker serves',
          );
          announced = true;
        }
        health.ok();
        failures = 0;
      } catch (error) {
        health.failed(error, 'register graphs');
        failures++;
      }
      const wait = failures > 0 ? backoffDelay(failures - 1, retry) : registrationMs;
      await sleep(wait, undefined, { signal }).catch(() => undefined);
    }
  };

  const reapLoop = async (): Promise<void> => {
    const signal = claiming.signal;
    let failures = 0;
    while (!signal.aborted) {
      try {
        const expired = await deps.leases.takeExpiredLeases(workerId, 100, leaseMs);
        for (const run of expired) await endLost(run);
        health.ok();
        failures = 0;
      } catch (error) {
        health.failed(error, 'reap');
        failures++;
      }
      const wait = failures > 0 ? backoffDelay(failures - 1, retry) : reapMs;
      await sleep(wait, undefined, { signal }).catch(() => undefined);
    }
  };

  const endLost = async (run: TakenRun): Promise<void> => {
    // This worker's own run, whose lease ran out while the database was away: taking it over
    // renewed the lease, and the run goes on here.
    if (run.lostOwner === workerId && active.has(run.id)) return;
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
      // Fenced with the seq the takeover saw: a late append of the old worker cannot slip in.
      await deps.events.append(run.id, [event], { leaseOwner: workerId, expectedSeq: run.nextSeq });
      deps.wakeup.notify();
      logger.warn(
        { runId: run.id, lostOwner: run.lostOwner, type: event.type },
        'ended a run whose worker was lost',
      );
    } catch (error) {
      // RUN_TERMINAL: the old worker was alive after all and ended the run first; one terminal
      // wins. LEASE_LOST: another reaper took it over in between and ends it.
      if (!(error instanceof RunTerminalError) && !(error instanceof LeaseLostError)) throw error;
    }
  };

  const settled = (work: Promise<unknown>, ms: number): Promise<boolean> => {
    const timer = new AbortController();
    return Promise.race([
      work.then(() => true),
      sleep(ms, false, { signal: timer.signal }).catch(() => false),
    ]).finally(() => timer.abort());
  };

  return {
    workerId,
    get active() {
      return active.size;
    },
    start() {
      logger.info(
        { workerId, concurrency, leaseMs, tenantMaxRunning, graphs: deps.registry.names() },
        'run-worker started',
      );
      registrationLoopDone = registrationLoop();
      claimLoopDone = claimLoop();
      heartbeatLoopDone = heartbeatLoop();
      reapLoopDone = reapLoop();
    },
    async stop({ drainMs = 7000 } = {}) {
      claiming.abort();
      // A claim in flight commits its runs as running: wait for it, so that what it took is
      // handed back rather than left to expire.
      await Promise.all([claimLoopDone, reapLoopDone, registrationLoopDone]);
      const inFlight = () => Promise.all([...active.values()].map((a) => a.done));
      if (active.size > 0) {
        logger.info({ runs: active.size, drainMs }, 'draining in-flight runs');
        if (!(await settled(inFlight(), drainMs))) {
          logger.warn(
            { runs: active.size },
            'drain deadline: ending in-flight runs WORKER_SHUTDOWN',
          );
          for (const id of active.keys())
            abort(id, new RunAbort('SHUTDOWN', 'the worker shut down before the run ended'));
          if (!(await settled(inFlight(), shutdownGraceMs))) {
            logger.warn(
              { runs: active.size },
              'runs did not end in time; their leases expire and another worker ends them',
            );
            for (const entry of active.values())
              entry.writes.abort(new RunAbort('SHUTDOWN', 'given up'));
            // Their tracers now refuse every call; a node that neither emits nor heeds its signal
            // cannot be waited for within the process's shutdown deadline.
            await settled(inFlight(), 250);
          }
        }
      }
      heartbeat.abort();
      await heartbeatLoopDone;
    },
  };
}
