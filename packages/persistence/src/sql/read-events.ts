/**
 * One page of a run's events in seq order: the replay and gap-fill read. Walks the primary key
 * (run_id, seq), so a page costs the same wherever it starts.
 *
 * $1 run id, $2 first seq (inclusive), $3 last seq (inclusive), $4 page size.
 */
export const READ_EVENTS_SQL = `
SELECT run_id AS "runId", seq, type, data, created_at AS "createdAt"
  FROM run_events
 WHERE run_id = $1::uuid AND seq >= $2::int AND seq <= $3::int
 ORDER BY seq
 LIMIT $4::int`;
