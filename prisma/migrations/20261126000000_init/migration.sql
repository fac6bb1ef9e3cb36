-- Runstream's initial schema. The invariants of the event log live here, in the database:
--   unique (run_id, seq); at most one terminal event per run; no event after the terminal one;
--   every seq was allocated from runs.next_seq (which the append bumps under the run's row lock).

CREATE TYPE "run_status" AS ENUM ('queued', 'running', 'succeeded', 'failed', 'cancelled');

CREATE TABLE "runs" (
    "id" UUID NOT NULL,
    "tenant" TEXT NOT NULL,
    "graph" TEXT NOT NULL,
    "input" JSONB NOT NULL,
    "status" "run_status" NOT NULL DEFAULT 'queued',
    "next_seq" INTEGER NOT NULL DEFAULT 1,
    "idempotency_key" TEXT,
    "lease_owner" TEXT,
    "lease_expires_at" TIMESTAMPTZ(6),
    "cancel_requested_at" TIMESTAMPTZ(6),
    "output" JSONB,
    "error" JSONB,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMPTZ(6),
    "finished_at" TIMESTAMPTZ(6),

    CONSTRAINT "runs_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "runs_next_seq_positive" CHECK ("next_seq" >= 1),
    -- A finished run says so in both columns, never in one only.
    CONSTRAINT "runs_finished_consistent" CHECK (
        ("status" IN ('succeeded', 'failed', 'cancelled')) = ("finished_at" IS NOT NULL)
    )
);

CREATE UNIQUE INDEX "runs_tenant_idempotency_key_key" ON "runs"("tenant", "idempotency_key");
CREATE INDEX "runs_tenant_created_at_idx" ON "runs"("tenant", "created_at" DESC, "id" DESC);
CREATE INDEX "runs_status_lease_idx" ON "runs"("status", "lease_expires_at");

CREATE TABLE "run_events" (
    "run_id" UUID NOT NULL,
    "seq" INTEGER NOT NULL,
    "type" TEXT NOT NULL,
    "data" JSONB NOT NULL,
    "terminal" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "published_at" TIMESTAMPTZ(6),

    CONSTRAINT "run_events_pkey" PRIMARY KEY ("run_id", "seq"),
    CONSTRAINT "run_events_seq_positive" CHECK ("seq" >= 1),
    CONSTRAINT "run_events_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "runs"("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- I5: a run can never hold two terminal events.
CREATE UNIQUE INDEX "run_events_one_terminal" ON "run_events"("run_id") WHERE "terminal";

-- I2 and I5 for writers that bypass the append statement: one check per INSERT statement (not per
-- row) over the statement's new rows, so a 100-event batch pays for it once.
CREATE FUNCTION "run_events_guard"() RETURNS trigger LANGUAGE plpgsql AS $$
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
            ON t."run_id" = n."run_id"
           AND ((t."terminal" AND t."seq" < n."seq") OR (n."terminal" AND t."seq" > n."seq"))
    ) THEN
        RAISE EXCEPTION 'run_events: no event may follow a run''s terminal event'
            USING ERRCODE = '23514', CONSTRAINT = 'run_events_terminal_last';
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER "run_events_guard" AFTER INSERT ON "run_events"
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION "run_events_guard"();

CREATE TABLE "run_outbox" (
    "id" BIGSERIAL NOT NULL,
    "run_id" UUID NOT NULL,
    "seq" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "published_at" TIMESTAMPTZ(6),
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "last_error" TEXT,
    "parked_at" TIMESTAMPTZ(6),

    CONSTRAINT "run_outbox_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "run_outbox_event_fkey" FOREIGN KEY ("run_id", "seq") REFERENCES "run_events"("run_id", "seq") ON DELETE CASCADE ON UPDATE CASCADE
);

CREATE UNIQUE INDEX "run_outbox_run_id_seq_key" ON "run_outbox"("run_id", "seq");
-- The claim walks unpublished rows in arrival order and probes each run's head by (run_id, seq).
CREATE INDEX "run_outbox_unpublished_idx" ON "run_outbox"("id") WHERE "published_at" IS NULL;
CREATE INDEX "run_outbox_unpublished_run_idx" ON "run_outbox"("run_id", "seq") WHERE "published_at" IS NULL;
-- Retention deletes published rows oldest first.
CREATE INDEX "run_outbox_published_idx" ON "run_outbox"("published_at") WHERE "published_at" IS NOT NULL;
