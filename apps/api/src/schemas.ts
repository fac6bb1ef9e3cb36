import { IdempotencyKeySchema, type Run } from '@runstream/contract';
import type { RunRecord } from '@runstream/persistence';
import { z } from 'zod';

/**
 * Run ids are UUIDs matched without regard to case; the lower-case form is the only one used past
 * this point (answers, frames, bus subscriptions), so an upper-case id behaves exactly the same.
 */
export const RunIdParams = z.object({
  runId: z.string().toLowerCase().describe('The run id (a UUID, any case)'),
});

export const CreateRunHeaders = z.object({
  'idempotency-key': IdempotencyKeySchema.optional().describe(
    'Instead of body.idempotencyKey (both given and different: 400 IDEMPOTENCY_KEY_CONFLICT)',
  ),
});

export const EventStreamHeaders = z.object({
  'last-event-id': z
    .string()
    .optional()
    .describe(
      'SSE only: the last seq the reader has; the stream resumes after it (wins over fromSeq)',
    ),
});

/** A stored run in the contract's shape. */
export function toRunBody(run: RunRecord): Run {
  return {
    id: run.id,
    graph: run.graph,
    input: (run.input ?? {}) as Record<string, unknown>,
    status: run.status,
    lastSeq: run.nextSeq - 1,
    createdAt: run.createdAt.toISOString(),
    startedAt: run.startedAt?.toISOString() ?? null,
    finishedAt: run.finishedAt?.toISOString() ?? null,
    error: (run.error ?? null) as Run['error'],
  };
}
