import { statement } from './statement.js';

/**
 * Marks what the bus accepted: each claimed run's outbox rows up to `up_to`, and the run's published
 * high-water mark (runs.published_seq), which published replay reads instead of a column on every
 * event. Keeps I4: the mark only moves forward (GREATEST: a late replica that marks less never
 * moves it back), and never passes the run's last seq (`up_to` is a claimed, committed seq; the
 * CHECK runs_published_seq_allocated guards it too). It takes each run's row lock until COMMIT,
 * which appends to that run wait for: the worker sends COMMIT in the same round trip
 * (markPublishedAndCommit), so the lock lives for microseconds, not a network round trip.
 *
 * $1 run ids, $2 the seq each is published up to (arrays of one length). Returns `n`, the outbox
 * rows marked, and `runs`, the runs whose mark moved.
 */
export const MARK_PUBLISHED = statement<
  [runIds: string[], upToSeqs: number[]],
  { n: number; runs: number }
>(
  'mark_published',
  `
  WITH mark AS (
    SELECT * FROM unnest($1::uuid[], $2::int[]) AS m(run_id, up_to)
  ), outbox AS (
    UPDATE run_outbox o SET published_at = now()
      FROM mark
     WHERE o.run_id = mark.run_id AND o.seq <= mark.up_to AND o.published_at IS NULL
    RETURNING 1
  ), run AS (
    UPDATE runs r SET published_seq = GREATEST(r.published_seq, mark.up_to)
      FROM mark
     WHERE r.id = mark.run_id AND r.published_seq < mark.up_to
    RETURNING 1
  )
  SELECT (SELECT count(*) FROM outbox)::int AS n, (SELECT count(*) FROM run)::int AS runs`,
);
