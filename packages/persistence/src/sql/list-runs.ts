import type { RunStatus } from '@runstream/events';

import { type RunRecord, runColumns } from './run-columns.js';
import { statement } from './statement.js';

/**
 * A page of a tenant's runs, newest first: ids are UUIDv7, so id order is creation order, and a
 * page after the cursor $4 (the last id of the previous page) never repeats or skips a run, however
 * many runs are created meanwhile. Only the tenant's runs, whatever the filters.
 *
 * $1 tenant, $2 status or NULL (any), $3 graph or NULL (any), $4 cursor id or NULL (first page),
 * $5 rows to return (the page size plus one, to know whether another page follows).
 */
export const LIST_RUNS = statement<
  [
    tenant: string,
    status: RunStatus | null,
    graph: string | null,
    afterId: string | null,
    limit: number,
  ],
  RunRecord
>(
  'list_runs',
  `
SELECT ${runColumns()}
  FROM runs
 WHERE tenant = $1::text
   AND ($2::run_status IS NULL OR status = $2::run_status)
   AND ($3::text IS NULL OR graph = $3::text)
   AND ($4::uuid IS NULL OR id < $4::uuid)
 ORDER BY id DESC
 LIMIT $5::int`,
);
