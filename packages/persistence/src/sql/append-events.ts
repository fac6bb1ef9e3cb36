import type { RunStatus } from '@runstream/events';

import { statement } from './statement.js';

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
 * Fencing: a writer that holds the run's lease passes its worker id ($7) and the seq it expects its
 * batch to start at ($8). The UPDATE then matches only while the lease is still this writer's and
 * nobody appended since, checked under the same row lock that allocates the seqs: a worker whose
 * lease was taken over writes nothing, however late it wakes up. It also makes the append safe to
 * retry after an ambiguous failure (the connection dropped after the server committed): the
 * retry's fence no longer matches, writes nothing, and the repository reads back what happened.
 *
 * $1 run id, $2 events as a JSON array of {type, data}, $3 number of events,
 * $4 terminal status or NULL, $5 error JSON or NULL, $6 output JSON or NULL,
 * $7 lease owner or NULL (no lease check), $8 expected first seq or NULL (no seq check).
 * Returns one row (first_seq, at) or none when the run is unknown, ended, or fenced off.
 */
type AppendParams = [
  runId: string,
  events: string,
  count: number,
  terminalStatus: RunStatus | null,
  error: string | null,
  output: string | null,
  leaseOwner: string | null,
  expectedSeq: number | null,
];
type AppendRow = { firstSeq: number; at: Date };

const APPEND_WRITES = `
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
     AND ($7::text IS NULL OR lease_owner = $7::text)
     AND ($8::int IS NULL OR next_seq = $8::int)
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
`;

/** The append; see APPEND_WRITES. */
export const APPEND_EVENTS = statement<AppendParams, AppendRow>(
  'append_events',
  `${APPEND_WRITES}SELECT first_seq AS "firstSeq", now() AS at FROM run`,
);

/**
 * APPEND_EVENTS that also wakes the outbox workers (NOTIFY on OUTBOX_WAKEUP_CHANNEL) when it
 * writes, delivered at its commit: one hop fewer than a NOTIFY sent after the commit. A NOTIFY in a
 * write transaction serializes its commit with every other notifying commit, so the callers use it
 * only while nothing else of theirs is notifying (see createOutboxWakeup's `inline`, ADR 0027).
 */
export const APPEND_EVENTS_WAKE = statement<AppendParams, AppendRow>(
  'append_events_wake',
  `${APPEND_WRITES}SELECT first_seq AS "firstSeq", now() AS at, pg_notify('runstream_outbox', '') FROM run`,
);

/**
 * Why a fenced append wrote nothing; read only after it did, so it costs nothing on the hot path.
 * `committed` is true when the rows at the expected seqs are exactly the batch: an earlier attempt
 * of this very append committed before its connection failed. Exact equality of type and data
 * (jsonb compares by value) is what tells our batch from another writer's that took those seqs.
 *
 * $1 run id, $2 events as a JSON array of {type, data}, $3 number of events, $4 expected first seq.
 * Returns no row for an unknown run.
 */
export const APPEND_OUTCOME = statement<
  [runId: string, events: string, count: number, expectedSeq: number],
  {
    leaseOwner: string | null;
    nextSeq: number;
    finished: boolean;
    committed: boolean;
    at: Date | null;
  }
>(
  'append_outcome',
  `
SELECT r.lease_owner AS "leaseOwner", r.next_seq AS "nextSeq", r.finished_at IS NOT NULL AS finished,
       (SELECT count(*)::int FROM run_events e
          JOIN jsonb_array_elements($2::jsonb) WITH ORDINALITY AS b(value, ord)
            ON e.seq = $4::int + b.ord::int - 1
         WHERE e.run_id = r.id AND e.type = b.value->>'type' AND e.data = b.value->'data'
       ) = $3::int AS committed,
       (SELECT created_at FROM run_events WHERE run_id = r.id AND seq = $4::int) AS at
  FROM runs r
 WHERE r.id = $1::uuid`,
);
