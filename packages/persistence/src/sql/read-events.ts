import { statement } from './statement.js';

/** One stored event, as the reads return it. */
export interface EventRow {
  runId: string;
  seq: number;
  type: string;
  data: Record<string, unknown>;
  createdAt: Date;
}

/**
 * One page of a run's events in seq order: the replay and gap-fill read. Walks the primary key
 * (run_id, seq), so a page costs the same wherever it starts.
 *
 * With $5 NULL it reads every committed event. With $5 set it reads only published ones: up to the
 * run's published mark (runs.published_seq, which the outbox moves forward after the bus accepted
 * the events) or up to $5, whichever is higher. $5 is the highest seq the bus announced to the
 * reader: the outbox publishes an event only after it committed, and marks it right after the
 * publish, so an announced event is published even while its mark is still uncommitted; without
 * $5 a read triggered by that very message could stop short of it. The bound is part of the index
 * condition (LEAST ignores the NULL of committed reads), so a backlog of unpublished events past
 * it costs nothing.
 *
 * $1 run id, $2 first seq (inclusive), $3 last seq (inclusive), $4 page size,
 * $5 NULL for committed reads, else the highest seq known to be published (0 when none).
 */
export const READ_EVENTS = statement<
  [runId: string, fromSeq: number, toSeq: number, limit: number, publishedSeq: number | null],
  EventRow
>(
  'read_events',
  `
SELECT run_id AS "runId", seq, type, data, created_at AS "createdAt"
  FROM run_events
 WHERE run_id = $1::uuid AND seq >= $2::int
   AND seq <= LEAST($3::int, CASE WHEN $5::int IS NOT NULL THEN
         (SELECT GREATEST(r.published_seq, $5::int) FROM runs r WHERE r.id = $1::uuid) END)
 ORDER BY seq
 LIMIT $4::int`,
);

/**
 * READ_EVENTS with the page also bounded in bytes: rows stay while the data of the rows before
 * them sums to less than $5, so a page ends with the event that reaches the bound, and always holds
 * its first event (a single event larger than the bound is a page of one). This bounds what one
 * read holds in memory, whatever the size of the events; the row limit still bounds the scan.
 * Bytes are those of the jsonb's text form, a little above its compact JSON.
 *
 * $1..$5 as READ_EVENTS, $6 the byte bound.
 */
export const READ_EVENTS_WITHIN_BYTES = statement<
  [
    runId: string,
    fromSeq: number,
    toSeq: number,
    limit: number,
    publishedSeq: number | null,
    maxBytes: number,
  ],
  EventRow
>(
  'read_events_within_bytes',
  `
SELECT "runId", seq, type, data, "createdAt"
  FROM (SELECT page.*,
               sum(octet_length(page.data::text)) OVER (ORDER BY page.seq ROWS UNBOUNDED PRECEDING)
                 - octet_length(page.data::text) AS bytes_before
          FROM (${READ_EVENTS.text}) page) sized
 WHERE bytes_before < $6::bigint
 ORDER BY seq`,
);
