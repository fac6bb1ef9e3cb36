import { statement } from './statement.js';

/**
 * Retention: deletes at most $2 outbox rows published before $1, oldest first. Only published rows
 * go, so nothing still to publish is lost, and a run's published mark (runs.published_seq) keeps
 * what they said for published replay. Bounded, so one call holds few locks for little time.
 *
 * $1 cut-off time, $2 batch size.
 */
export const DELETE_PUBLISHED_OUTBOX = statement<[before: Date, batchSize: number]>(
  'delete_published_outbox',
  `
DELETE FROM run_outbox WHERE id IN (
  SELECT id FROM run_outbox
   WHERE published_at IS NOT NULL AND published_at < $1::timestamptz
   ORDER BY published_at
   LIMIT $2::int)`,
);
