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

/**
 * READ_EVENTS_SQL with the page also bounded in bytes: rows stay while the data of the rows before
 * them sums to less than $5, so a page ends with the event that reaches the bound, and always holds
 * its first event (a single event larger than the bound is a page of one). This bounds what one
 * read holds in memory, whatever the size of the events; the row limit still bounds the scan.
 * Bytes are those of the jsonb's text form, a little above its compact JSON.
 *
 * $1..$4 as READ_EVENTS_SQL, $5 the byte bound.
 */
export const READ_EVENTS_WITHIN_BYTES_SQL = `
SELECT "runId", seq, type, data, "createdAt"
  FROM (SELECT page.*,
               sum(octet_length(page.data::text)) OVER (ORDER BY page.seq ROWS UNBOUNDED PRECEDING)
                 - octet_length(page.data::text) AS bytes_before
          FROM (${READ_EVENTS_SQL}) page) sized
 WHERE bytes_before < $5::bigint
 ORDER BY seq`;
