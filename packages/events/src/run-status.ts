import { z } from 'zod';

/**
 * Every status a run can have, in the order a run goes through them. The database's `run_status`
 * enum mirrors this list (persistence checks the two agree at compile time); the api and the client
 * read it from here.
 */
export const RUN_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;

/** A run's status, as stored and as the api reports it. */
export const RunStatusSchema = z.enum(RUN_STATUSES);

/** A run's status, as stored and as the api reports it. */
export type RunStatus = z.infer<typeof RunStatusSchema>;

/** Whether a run in this status has ended. */
export function isTerminalStatus(status: RunStatus): boolean {
  return status === 'succeeded' || status === 'failed' || status === 'cancelled';
}
