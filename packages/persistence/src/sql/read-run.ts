import { type RunRecord, runColumns } from './run-columns.js';
import { statement } from './statement.js';

/**
 * A tenant's run by id. The tenant is part of the key: a run of another tenant is not found, the
 * same as a missing one (callers must not tell the two apart).
 *
 * $1 tenant, $2 run id.
 */
export const READ_RUN = statement<[tenant: string, runId: string], RunRecord>(
  'read_run',
  `SELECT ${runColumns()} FROM runs WHERE id = $2::uuid AND tenant = $1::text`,
);

/** A run by id whatever its tenant: for workers, never for requests. $1 run id. */
export const READ_RUN_BY_ID = statement<[runId: string], RunRecord>(
  'read_run_by_id',
  `SELECT ${runColumns()} FROM runs WHERE id = $1::uuid`,
);

/**
 * The run a tenant created with an idempotency key (at most one: runs_tenant_idempotency_key_key).
 * $1 tenant, $2 idempotency key.
 */
export const READ_RUN_BY_IDEMPOTENCY_KEY = statement<
  [tenant: string, idempotencyKey: string],
  RunRecord
>(
  'read_run_by_idempotency_key',
  `SELECT ${runColumns()} FROM runs WHERE tenant = $1::text AND idempotency_key = $2::text`,
);
