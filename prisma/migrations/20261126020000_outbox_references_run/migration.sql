-- The outbox row's foreign key to its event made PostgreSQL lock each freshly inserted event row
-- (FOR KEY SHARE) once per outbox row: about a quarter of a 100-event append's cost
-- (bench:persistence). Outbox rows are written only by the append statement, together with their
-- events; what a foreign key must still keep is that a run's outbox rows go when the run goes.
-- Referencing the run costs nearly nothing: the append already holds that row's lock.
ALTER TABLE "run_outbox" DROP CONSTRAINT "run_outbox_event_fkey";
ALTER TABLE "run_outbox" ADD CONSTRAINT "run_outbox_run_id_fkey"
    FOREIGN KEY ("run_id") REFERENCES "runs"("id") ON DELETE CASCADE ON UPDATE CASCADE;
