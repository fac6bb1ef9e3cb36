-- Graphs are plugins: run-workers register the graphs they serve, and the api learns them from
-- here (it holds no graph code). One row per (graph name, version); the version is a hash of the
-- input JSON Schema and the description, so workers built from the same graph share a row.
CREATE TABLE "graph_registrations" (
    "name" TEXT NOT NULL,
    "version" TEXT NOT NULL,
    "description" TEXT,
    -- The graph's input as JSON Schema (draft 2020-12): what POST /v1/runs checks a run's input against.
    "input_schema" JSONB NOT NULL,
    "first_registered_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    -- The last time a worker serving this version said so (at its start, then on its heartbeat).
    "last_seen_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    -- Some worker serves this version until then, unless it refreshes it; past it the version is
    -- not live. Kept by the workers (each pushes it forward), so the api needs none of their settings.
    "live_until" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "graph_registrations_pkey" PRIMARY KEY ("name", "version"),
    CONSTRAINT "graph_registrations_name" CHECK (length("name") BETWEEN 1 AND 200)
);

-- The version of its graph a run's input was checked against at POST /v1/runs. A worker claims a
-- run of a version it serves, or of a version no live worker serves any more (it re-checks the
-- input then): during a rolling deploy that changes a graph's input, a run never reaches a worker
-- whose version of the graph would refuse it. NULL: created without the registry (any version).
ALTER TABLE "runs" ADD COLUMN "graph_version" TEXT;

-- The claim walks each tenant's queued runs per graph it serves, oldest first. The index on
-- (tenant, id) it replaces served the walk over tenants and the per-tenant quota count, which
-- this one serves as well (same leading column, same predicate).
CREATE INDEX "runs_queued_tenant_graph_idx" ON "runs" ("tenant", "graph", "id") WHERE "status" = 'queued';
DROP INDEX "runs_queued_tenant_idx";
