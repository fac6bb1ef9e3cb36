/**
 * Appends a batch of events to a run in one statement (one round trip).
 *
 * Keeps I2 (a run's seqs are 1..n, committed in order): the UPDATE takes the run's row lock and
 * allocates the batch's seqs from next_seq; a concurrent append waits for that lock and sees the
 * bumped counter, so seqs commit in order, and a rollback returns them. Keeps I5 (nothing after
 * the terminal event): the UPDATE matches only a run that has not finished, so an append to an
 * ended run writes nothing (the caller then raises RUN_TERMINAL). A terminal batch sets the run's
 * status, output, error and finish time in the same statement, and releases its lease.
 *
 * $1 run id, $2 events as a JSON array of {type, data}, $3 number of events,
 * $4 terminal status or NULL, $5 error JSON or NULL, $6 output JSON or NULL.
 * Returns one row (first_seq, at) or none when the run is unknown or ended.
 */
export const APPEND_EVENTS_SQL = `
WITH run AS (
  UPDATE runs
     SET next_seq = next_seq + $3::int,
         status = COALESCE($4::run_status, status),
         finished_at = CASE WHEN $4::run_status IS NULL THEN finished_at ELSE now() END,
         error = COALESCE($5::jsonb, error),
         output = COALESCE($6::jsonb, output),
         lease_owner = CASE WHEN $4::run_status IS NULL THEN lease_owner END,
         lease_expires_at = CASE WHEN $4::run_status IS NULL THEN lease_expires_at END,
         updated_at = now()
   WHERE id = $1::uuid AND finished_at IS NULL
  RETURNING next_seq - $3::int AS first_seq
), event AS (
  INSERT INTO run_events (run_id, seq, type, data, terminal)
  SELECT $1::uuid, run.first_seq + e.ord::int - 1, e.value->>'type', e.value->'data',
         e.ord = $3 AND $4::run_status IS NOT NULL
    FROM run, jsonb_array_elements($2::jsonb) WITH ORDINALITY AS e(value, ord)
  RETURNING run_id, seq
), outbox AS (
  INSERT INTO run_outbox (run_id, seq) SELECT run_id, seq FROM event
)
SELECT first_seq, now() AS at FROM run`;
