import { TERMINAL_STATUS, isTerminalType } from '@runstream/events';
import type { RunWorkerDeps } from '@runstream/orchestrator';
import { PersistenceError } from '@runstream/persistence';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The run-worker's Prometheus metrics, on a registry of its own. */
export function createRunWorkerMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  let active: () => number = () => 0;
  return {
    registry,
    /** Tells the `runs_active` gauge where to read the number of runs executing now. */
    countActive(source: () => number): void {
      active = source;
    },
    active: new Gauge({
      name: 'runstream_run_worker_runs_active',
      help: 'Runs this process executes now (at most RUNSTREAM_RUN_WORKER_CONCURRENCY).',
      registers: [registry],
      collect() {
        this.set(active());
      },
    }),
    claimed: new Counter({
      name: 'runstream_run_worker_runs_claimed_total',
      help: 'Queued runs this process claimed.',
      registers: [registry],
    }),
    ended: new Counter({
      name: 'runstream_run_worker_runs_ended_total',
      help: 'Runs this process ended, by final status: the runs it executed and those of lost workers it ended (WORKER_LOST).',
      labelNames: ['status'] as const,
      registers: [registry],
    }),
    appendDuration: new Histogram({
      name: 'runstream_run_worker_append_duration_seconds',
      help: 'Time of one successful append (one batch of events of one run, one statement).',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    eventsAppended: new Counter({
      name: 'runstream_run_worker_events_appended_total',
      help: 'Events this process appended.',
      registers: [registry],
    }),
    appendFailures: new Counter({
      name: 'runstream_run_worker_append_failures_total',
      help: 'Appends that failed, by reason: a persistence error code (RUN_TERMINAL: the run had ended), or DATABASE when the database did not answer.',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    leaseRenewFailures: new Counter({
      name: 'runstream_run_worker_lease_renew_failures_total',
      help: 'Lease renewals that failed (the database did not answer): a run whose lease expires is ended WORKER_LOST by another worker.',
      registers: [registry],
    }),
    leasesLost: new Counter({
      name: 'runstream_run_worker_leases_lost_total',
      help: 'Runs a lease renewal no longer found leased to this process (taken over after missed renewals, or ended in that instant).',
      registers: [registry],
    }),
  };
}

export type RunWorkerMetrics = ReturnType<typeof createRunWorkerMetrics>;

/**
 * The worker's dependencies, counted on their way through: claims, lease renewals and appends are
 * where a worker meets the database, so the counts are exact without the worker loop knowing about
 * metrics. A successful append that ends its run counts the run as ended with its final status.
 */
export function instrumentRunWorkerDeps(
  deps: RunWorkerDeps,
  metrics: RunWorkerMetrics,
): RunWorkerDeps {
  const { leases, events } = deps;
  return {
    ...deps,
    leases: {
      ...leases,
      async claimQueued(...args) {
        const claimed = await leases.claimQueued(...args);
        metrics.claimed.inc(claimed.length);
        return claimed;
      },
      async renewLeases(...args) {
        try {
          const held = await leases.renewLeases(...args);
          metrics.leasesLost.inc(args[1].length - held.length);
          return held;
        } catch (error) {
          metrics.leaseRenewFailures.inc();
          throw error;
        }
      },
    },
    events: {
      ...events,
      async append(...args) {
        const batch = args[1];
        const stop = metrics.appendDuration.startTimer();
        try {
          const result = await events.append(...args);
          stop();
          metrics.eventsAppended.inc(batch.length);
          const last = batch.at(-1)?.type;
          if (last !== undefined && isTerminalType(last))
            metrics.ended.inc({ status: TERMINAL_STATUS[last] });
          return result;
        } catch (error) {
          metrics.appendFailures.inc({
            reason: error instanceof PersistenceError ? error.code : 'DATABASE',
          });
          throw error;
        }
      },
    },
  };
}
