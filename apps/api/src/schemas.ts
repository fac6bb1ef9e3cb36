import { RunEventEnvelopeSchema } from '@runstream/events';
import type { RunRecord } from '@runstream/persistence';
import { z } from 'zod';

export const RUN_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;

export const ErrorSchema = z
  .object({
    error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
  })
  .meta({ id: 'Error' });

export const RunSchema = z
  .object({
    id: z.string(),
    graph: z.string(),
    input: z.record(z.string(), z.unknown()),
    status: z.enum(RUN_STATUSES),
    /** The seq of the run's latest event (0 never happens: a created run has its first event). */
    lastSeq: z.number().int(),
    createdAt: z.string(),
    startedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
    error: z.unknown().nullable(),
  })
  .meta({ id: 'Run' });

export type RunBody = z.output<typeof RunSchema>;

export const EventSchema = RunEventEnvelopeSchema.meta({ id: 'Event' });

/**
 * Run ids are UUIDs matched without regard to case; the lower-case form is the only one used past
 * this point (answers, frames, bus subscriptions), so an upper-case id behaves exactly the same.
 */
export const RunIdParams = z.object({ runId: z.string().toLowerCase() });

export const CreateRunBody = z
  .object({
    graph: z.string().min(1).max(200),
    input: z.record(z.string(), z.unknown()).optional(),
    idempotencyKey: z.string().min(1).max(255).optional(),
  })
  // Unknown fields are refused, and the error names them: a typo must not be silently ignored.
  .strict();

/** Cancel takes no options yet; any field is refused and named, so a client never relies on one that is ignored. */
export const CancelRunBody = z.object({}).strict().nullish();

export const CreateRunHeaders = z.object({
  'idempotency-key': z.string().min(1).max(255).optional(),
});

export const ListRunsQuery = z.object({
  status: z.enum(RUN_STATUSES).optional(),
  graph: z.string().min(1).max(200).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().min(1).max(512).optional(),
});

export const RunListSchema = z.object({
  runs: z.array(RunSchema),
  nextCursor: z.string().nullable(),
});

export const EventsQuery = z.object({
  fromSeq: z
    .string()
    .optional()
    .describe(
      'First seq to return, inclusive (a whole number); for SSE, Last-Event-ID wins over it',
    ),
  limit: z.coerce.number().int().min(1).max(1000).default(100).describe('JSON pages only'),
});

export const EventPageSchema = z.object({
  events: z.array(EventSchema),
  /** The fromSeq of the next page. */
  nextSeq: z.number().int(),
  /** The page reaches the run's terminal event: there is nothing more to read. */
  terminal: z.boolean(),
});

/** A stored run in the contract's shape. */
export function toRunBody(run: RunRecord): RunBody {
  return {
    id: run.id,
    graph: run.graph,
    input: (run.input ?? {}) as Record<string, unknown>,
    status: run.status,
    lastSeq: run.nextSeq - 1,
    createdAt: run.createdAt.toISOString(),
    startedAt: run.startedAt?.toISOString() ?? null,
    finishedAt: run.finishedAt?.toISOString() ?? null,
    error: run.error ?? null,
  };
}

export const GraphSchema = z
  .object({
    name: z.string().describe('What POST /v1/runs takes as `graph`'),
    description: z.string().nullable(),
    inputSchema: z
      .record(z.string(), z.unknown())
      .describe("JSON Schema (draft 2020-12) of the graph's input, as its workers registered it"),
    version: z
      .string()
      .describe('Identifies the input schema and description; a run records the version it fits'),
    live: z
      .boolean()
      .describe(
        'Whether a worker serving this version vouched for it lately; a graph with none live still takes runs, which wait queued',
      ),
    lastSeenAt: z.string().describe('When a worker serving this version last vouched for it'),
  })
  .meta({ id: 'Graph' });

export const GraphListSchema = z.object({ graphs: z.array(GraphSchema) });
