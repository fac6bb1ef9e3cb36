-- The guard's terminal check joined each new row with every event of its run under an OR, which
-- no index can serve: a 256-event append to a run of 10,000 events spent 500 ms in the trigger,
-- and appends grew quadratically with a run's length. The same two rules, split so that each is
-- an index probe: a terminal event before a new row through the partial index
-- run_events_one_terminal, an event after a new terminal row through the primary key.
CREATE OR REPLACE FUNCTION "run_events_guard"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Every seq must have been allocated from runs.next_seq.
    IF EXISTS (
        SELECT 1 FROM new_rows n JOIN "runs" r ON r."id" = n."run_id" WHERE n."seq" >= r."next_seq"
    ) THEN
        RAISE EXCEPTION 'run_events: seq not allocated from runs.next_seq'
            USING ERRCODE = '23514', CONSTRAINT = 'run_events_seq_allocated';
    END IF;
    -- Nothing after the terminal event, and the terminal event is the last one.
    IF EXISTS (
        SELECT 1 FROM new_rows n JOIN "run_events" t
            ON t."run_id" = n."run_id" AND t."terminal" AND t."seq" < n."seq"
    ) OR EXISTS (
        SELECT 1 FROM new_rows n
         WHERE n."terminal"
           AND EXISTS (SELECT 1 FROM "run_events" t WHERE t."run_id" = n."run_id" AND t."seq" > n."seq")
    ) THEN
        RAISE EXCEPTION 'run_events: no event may follow a run''s terminal event'
            USING ERRCODE = '23514', CONSTRAINT = 'run_events_terminal_last';
    END IF;
    RETURN NULL;
END
$$;
