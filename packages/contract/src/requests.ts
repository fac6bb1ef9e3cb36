import { RunStatusSchema } from '@runstream/events';
import { z } from 'zod';

/** The longest graph name a request may carry. */
const GRAPH_NAME = z.string().min(1).max(200);
const IDEMPOTENCY_KEY = z.string().min(1).max(255);

/** `POST /v1/runs`. Unknown fields are refused, and named: a typo must not be silently ignored. */
export const CreateRunRequestSchema = z.strictObject({
  graph: GRAPH_NAME.describe('A graph a worker registered (GET /v1/graphs lists them)'),
  input: z
    .record(z.string(), z.unknown())
    .optional()
    .describe("Checked against the graph's schema"),
  idempotencyKey: IDEMPOTENCY_KEY.optional().describe(
    'The same key again (same tenant) answers 200 with the existing run, whatever the rest of the body',
  ),
});

export type CreateRunRequest = z.infer<typeof CreateRunRequestSchema>;

/** The `Idempotency-Key` header, the other way to give the key of a create. */
export const IdempotencyKeySchema = IDEMPOTENCY_KEY;

/** `POST /v1/runs/{runId}/cancel` takes no fields yet: any field is refused, and named. */
export const CancelRunRequestSchema = z.strictObject({}).nullish();

/** The query of `GET /v1/runs`. */
export const ListRunsQuerySchema = z.object({
  status: RunStatusSchema.optional(),
  graph: GRAPH_NAME.optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50).describe('Runs per page'),
  cursor: z.string().min(1).max(512).optional().describe('The nextCursor of the previous page'),
});

/** What a caller may give `GET /v1/runs`: every parameter optional. */
export type ListRunsQuery = Partial<z.output<typeof ListRunsQuerySchema>>;

/** The query of `GET /v1/runs/{runId}/events`. */
export const EventsQuerySchema = z.object({
  fromSeq: z
    .string()
    .optional()
    .describe(
      'First seq to return, inclusive (a whole number, default 1); for SSE, Last-Event-ID wins over it',
    ),
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(100)
    .describe('Events per JSON page (SSE ignores it)'),
});
