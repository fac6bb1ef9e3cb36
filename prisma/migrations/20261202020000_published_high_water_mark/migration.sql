-- What the outbox has published is a per-run high-water mark, no longer a column of every event.
-- Marking an event published was an UPDATE of its run_events row: a second write of the hottest
-- table, event by event, rewriting rows whose data can be large. The outbox publishes each run's
-- events in seq order and marks a prefix (seq <= the last one the bus accepted), so one integer per
-- run says the same: runs.published_seq, moved forward by the outbox's mark in its claim
-- transaction. Published replay reads seq <= published_seq.

ALTER TABLE "runs" ADD COLUMN "published_seq" INTEGER NOT NULL DEFAULT 0;

-- What was marked so far: every run's published events are a prefix of its seqs.
UPDATE "runs" r
   SET "published_seq" = p."seq"
  FROM (SELECT "run_id", max("seq") AS "seq"
          FROM "run_events"
         WHERE "published_at" IS NOT NULL
         GROUP BY "run_id") p
 WHERE p."run_id" = r."id";

-- I4: the published mark never passes the run's highest allocated seq (the mark only ever moves
-- forward: the outbox writes it with GREATEST).
ALTER TABLE "runs" ADD CONSTRAINT "runs_published_seq_allocated"
    CHECK ("published_seq" >= 0 AND "published_seq" < "next_seq");

ALTER TABLE "run_events" DROP COLUMN "published_at";
