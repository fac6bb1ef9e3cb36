-- Two things the run-worker leans on: a guard that refuses every bypass of the append statement's
-- invariants, and indexes for claiming queued runs fairly across tenants.

-- A terminal event is exactly an event of a terminal type. The append derives `terminal` from the
-- type; a writer that bypasses it could store run.completed with terminal = false, which the
-- one-terminal index and the guard below key on, and then append after it (review A10). Checked
-- against the existing rows once, here (the append has always written them this way).
ALTER TABLE "run_events" ADD CONSTRAINT "run_events_terminal_type"
    CHECK ("terminal" = ("type" IN ('run.completed', 'run.failed', 'run.cancelled')));

-- I2 and I5 for writers that bypass the append statement, one check per INSERT statement (not per
-- row) over the statement's new rows. The old guard only checked seq < next_seq, which let a
-- writer bump next_seq by 5 and insert seq 5 alone (a gap). Now, per run touched by the statement:
--   allocated   every new seq is below next_seq;
--   gapless     the new seqs are contiguous, the first one's predecessor exists (or it is 1), and
--               the last one is next_seq - 1, so the counter and the rows never drift apart;
--   terminal    no terminal event before the statement's last row. With the two rules above the
--               last new row is the run's last row, so this is both "nothing after the terminal
--               event" and "the terminal event is last";
--   finished    a terminal event comes with its run finished in the matching status (the append
--               sets both in one statement).
-- One query per statement: an aggregate over the new rows, then per run two primary-key probes
-- (the run, the predecessor) and one probe of run_events_one_terminal, whatever the batch size.
CREATE OR REPLACE FUNCTION "run_events_guard"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    unallocated BOOLEAN;
    gap BOOLEAN;
    after_terminal BOOLEAN;
    unfinished BOOLEAN;
BEGIN
    SELECT bool_or(b.hi >= r."next_seq"),
           bool_or(b.hi - b.lo + 1 <> b.n
                   OR b.hi <> r."next_seq" - 1
                   OR (b.lo > 1 AND NOT EXISTS (
                         SELECT 1 FROM "run_events" p WHERE p."run_id" = b.run_id AND p."seq" = b.lo - 1))),
           bool_or(EXISTS (
                   SELECT 1 FROM "run_events" t
                    WHERE t."run_id" = b.run_id AND t."terminal" AND t."seq" < b.hi)),
           bool_or(b.terminal_type IS NOT NULL AND (
                   r."finished_at" IS NULL
                   OR r."status" <> CASE b.terminal_type
                                      WHEN 'run.completed' THEN 'succeeded'::"run_status"
                                      WHEN 'run.failed' THEN 'failed'::"run_status"
                                      ELSE 'cancelled'::"run_status" END))
      INTO unallocated, gap, after_terminal, unfinished
      FROM (SELECT "run_id" AS run_id, min("seq") AS lo, max("seq") AS hi, count(*) AS n,
                   max("type") FILTER (WHERE "terminal") AS terminal_type
              FROM new_rows GROUP BY "run_id") b
      JOIN "runs" r ON r."id" = b.run_id;
    IF unallocated THEN
        RAISE EXCEPTION 'run_events: seq not allocated from runs.next_seq'
            USING ERRCODE = '23514', CONSTRAINT = 'run_events_seq_allocated';
    END IF;
    IF gap THEN
        RAISE EXCEPTION 'run_events: a run''s seqs must be gapless and end at runs.next_seq - 1'
            USING ERRCODE = '23514', CONSTRAINT = 'run_events_gapless';
    END IF;
    IF after_terminal THEN
        RAISE EXCEPTION 'run_events: no event may follow a run''s terminal event'
            USING ERRCODE = '23514', CONSTRAINT = 'run_events_terminal_last';
    END IF;
    IF unfinished THEN
        RAISE EXCEPTION 'run_events: a terminal event must finish its run in the matching status'
            USING ERRCODE = '23514', CONSTRAINT = 'run_events_terminal_finishes_run';
    END IF;
    RETURN NULL;
END
$$;

-- Fair claiming (see the claim statement in packages/persistence/src/sql/claim-queued-runs.ts):
-- the tenants that have queued runs, walked one index probe per tenant, and each tenant's oldest
-- queued runs in order.
CREATE INDEX "runs_queued_tenant_idx" ON "runs" ("tenant", "id") WHERE "status" = 'queued';
-- Queued runs with a cancel request are claimed first (their worker only writes run.cancelled).
CREATE INDEX "runs_queued_cancel_idx" ON "runs" ("id")
    WHERE "status" = 'queued' AND "cancel_requested_at" IS NOT NULL;
-- Runs of a tenant running now, counted against RUNSTREAM_TENANT_MAX_RUNNING at each claim.
CREATE INDEX "runs_running_tenant_idx" ON "runs" ("tenant") WHERE "status" = 'running';
