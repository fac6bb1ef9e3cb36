import type { RunStatus } from '@runstream/events';

import type { RunStatus as ModelRunStatus } from '../generated/zod/schemas/enums/RunStatus.schema.js';
import type { RunType as RunModel } from '../generated/zod/schemas/models/Run.schema.js';

/** A JSON value as pg returns a jsonb column. */
export type JsonValue =
  string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** A run as stored, as every statement that returns runs returns it. `nextSeq - 1` is its last seq. */
export interface RunRecord {
  id: string;
  tenant: string;
  graph: string;
  graphVersion: string | null;
  input: JsonValue;
  status: RunStatus;
  nextSeq: number;
  publishedSeq: number;
  idempotencyKey: string | null;
  leaseOwner: string | null;
  leaseExpiresAt: Date | null;
  cancelRequestedAt: Date | null;
  output: JsonValue | null;
  error: JsonValue | null;
  createdAt: Date;
  updatedAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

/** The columns of `runs` and the field each is returned as: the one list every statement uses. */
const RUN_FIELDS = {
  id: 'id',
  tenant: 'tenant',
  graph: 'graph',
  graphVersion: 'graph_version',
  input: 'input',
  status: 'status',
  nextSeq: 'next_seq',
  publishedSeq: 'published_seq',
  idempotencyKey: 'idempotency_key',
  leaseOwner: 'lease_owner',
  leaseExpiresAt: 'lease_expires_at',
  cancelRequestedAt: 'cancel_requested_at',
  output: 'output',
  error: 'error',
  createdAt: 'created_at',
  updatedAt: 'updated_at',
  startedAt: 'started_at',
  finishedAt: 'finished_at',
} as const satisfies { [K in keyof RunRecord]: string };

/**
 * The select list of a whole run (`alias.column AS "field"`, ...), for SELECT and RETURNING lists;
 * `alias` names the table when the statement joins another.
 */
export function runColumns(alias?: string): string {
  const prefix = alias === undefined ? '' : `${alias}.`;
  return Object.entries(RUN_FIELDS)
    .map(([field, column]) => `${prefix}${column} AS "${field}"`)
    .join(', ');
}

// RunRecord, the column list and schema.prisma must agree: the generated zod model of Run (from
// schema.prisma) has exactly RunRecord's fields, and the database's run_status enum exactly the
// catalogue's statuses. A field or status added to one only is a compile error here, and
// run-columns.int.test.ts parses what the statements return with the model's schema.
type Assert<T extends true> = T;
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type _FieldsAgree = Assert<Same<keyof RunRecord, keyof RunModel>>;
type _StatusesAgree = Assert<Same<ModelRunStatus, RunStatus>>;
