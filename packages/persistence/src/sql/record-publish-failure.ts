import { statement } from './statement.js';

/**
 * Records a failed publish on a run's head outbox row (its lowest unpublished seq): one more
 * attempt, the error, and after $3 attempts the park, which the claim skips so that one run that
 * cannot be published never blocks the others. Keeps "a run's events go out in seq order": only
 * the head row is parked, and the claim's head rule holds every later row of the run behind it.
 *
 * $1 run id, $2 error text, $3 attempts before parking. Returns `parked`, or no row when the run
 * has nothing unpublished.
 */
export const RECORD_PUBLISH_FAILURE = statement<
  [runId: string, error: string, maxAttempts: number],
  { parked: boolean }
>(
  'record_publish_failure',
  `
  UPDATE run_outbox o
     SET attempts = o.attempts + 1,
         last_error = $2,
         parked_at = CASE WHEN o.attempts + 1 >= $3::int THEN now() END
   WHERE o.id = (SELECT id FROM run_outbox
                  WHERE run_id = $1::uuid AND published_at IS NULL
                  ORDER BY seq LIMIT 1)
  RETURNING parked_at IS NOT NULL AS parked`,
);
