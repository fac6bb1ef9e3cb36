import { statement } from './statement.js';

/**
 * Puts a parked run back in line: attempts back to 0, last_error kept for the record. Only a run's
 * head row is ever parked, so this touches at most one row. $1 run id.
 */
export const UNPARK_RUN = statement<[runId: string]>(
  'unpark_run',
  `UPDATE run_outbox SET parked_at = NULL, attempts = 0 WHERE run_id = $1::uuid AND parked_at IS NOT NULL`,
);

/** Puts every parked run back in line (as UNPARK_RUN). */
export const UNPARK_ALL_RUNS = statement<[]>(
  'unpark_all_runs',
  `UPDATE run_outbox SET parked_at = NULL, attempts = 0 WHERE parked_at IS NOT NULL`,
);
