import { statement } from './statement.js';

/**
 * The parked runs, oldest park first: where each stopped and why. Only a run's head row is ever
 * parked, so this is one row per run.
 */
export const LIST_PARKED_RUNS = statement<
  [],
  { runId: string; seq: number; attempts: number; lastError: string | null; parkedAt: Date }
>(
  'list_parked_runs',
  `
SELECT run_id::text AS "runId", seq, attempts, last_error AS "lastError", parked_at AS "parkedAt"
  FROM run_outbox
 WHERE parked_at IS NOT NULL
 ORDER BY parked_at, run_id`,
);

/** How many runs are parked. */
export const COUNT_PARKED_RUNS = statement<[], { n: number }>(
  'count_parked_runs',
  `SELECT count(DISTINCT run_id)::int AS n FROM run_outbox WHERE parked_at IS NOT NULL`,
);
