import { statement } from './statement.js';

/**
 * Age in seconds of the oldest unpublished outbox row of a run that is not parked; 0 when none
 * waits. Only a parked run's head row carries parked_at, so its later rows are excluded too.
 */
export const READ_OUTBOX_LAG = statement<[], { lag: number }>(
  'read_outbox_lag',
  `
SELECT COALESCE(EXTRACT(EPOCH FROM now() - min(o.created_at)), 0)::float8 AS lag
  FROM run_outbox o
 WHERE o.published_at IS NULL
   AND NOT EXISTS (SELECT 1 FROM run_outbox p
                    WHERE p.run_id = o.run_id AND p.published_at IS NULL AND p.parked_at IS NOT NULL)`,
);
