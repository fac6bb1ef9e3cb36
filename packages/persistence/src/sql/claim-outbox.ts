import type { EventRow } from './read-events.js';
import { statement } from './statement.js';

/**
 * The claim: locks each run's head outbox row (its lowest unpublished seq) with SKIP LOCKED and
 * reads that run's next unpublished events, in one statement. Only a head row qualifies, so the
 * other rows of a held run are never claimed by anyone else; one run is held by one replica.
 *
 * Bounded three ways: runs ($1), events per run ($2) and bytes of event data ($3). Each run's 1st
 * event comes whatever its size (and outside the budget), so a claim always moves every run it
 * holds; the budget is for the events after it, shared round robin (every run's 2nd event, then
 * every run's 3rd, ...) so that one deep run cannot take it all (review A3: an unbounded claim of large events never fit the bus's
 * deadline and was retried for ever). A round-robin prefix of a run is a prefix of its seqs: no
 * seq is ever skipped.
 *
 * The event is LEFT JOINed: the outbox references its run, not its event (migration
 * 20261126020000), so a writer outside the append can leave a row whose event is missing. Such a
 * row comes back with a NULL type, so that the caller can stop the run there and park it, instead
 * of the row holding a claim slot for ever (review B4) or its seq being skipped.
 */
export const CLAIM_OUTBOX = statement<
  [maxRuns: number, maxEventsPerRun: number, maxBytes: number],
  ClaimRow
>(
  'claim_outbox',
  `
  WITH head AS (
    SELECT o.id, o.run_id
      FROM run_outbox o
     WHERE o.published_at IS NULL
       AND o.parked_at IS NULL
       AND NOT EXISTS (
         SELECT 1 FROM run_outbox p
          WHERE p.run_id = o.run_id AND p.published_at IS NULL AND p.seq < o.seq)
     ORDER BY o.id
     LIMIT $1::int
       FOR UPDATE SKIP LOCKED
  ), claimed AS (
    SELECT h.id AS head_id, h.run_id, ob.seq,
           row_number() OVER (PARTITION BY h.run_id ORDER BY ob.seq) AS rank,
           e.type, e.data, e.created_at, coalesce(octet_length(e.data::text), 0) AS bytes
      FROM head h
      CROSS JOIN LATERAL (
        SELECT ob.seq
          FROM run_outbox ob
         WHERE ob.run_id = h.run_id AND ob.published_at IS NULL
         ORDER BY ob.seq
         LIMIT $2::int) ob
      LEFT JOIN run_events e ON e.run_id = h.run_id AND e.seq = ob.seq
  ), budget AS (
    SELECT c.*,
           sum(CASE WHEN c.rank = 1 THEN 0 ELSE c.bytes END)
             OVER (ORDER BY c.rank, c.head_id ROWS UNBOUNDED PRECEDING) AS total
      FROM claimed c
  )
  SELECT run_id AS "runId", seq, type, data, created_at AS "createdAt"
    FROM budget
   WHERE rank = 1 OR total <= $3::bigint
   ORDER BY run_id, seq`,
);

/** A claimed row; `type` is null when the outbox row's event is missing. */
export type ClaimRow = Omit<EventRow, 'type'> & { type: string | null };
