import { RunErrorSchema, RunStatusSchema } from '@runstream/events';
import { z } from 'zod';

/** A run as every route returns it. */
export const RunSchema = z
  .object({
    /** Lower case, whatever case a request used. */
    id: z.uuid(),
    graph: z.string(),
    input: z.record(z.string(), z.unknown()),
    status: RunStatusSchema,
    lastSeq: z
      .number()
      .int()
      .nonnegative()
      .describe("The seq of the run's latest event (a created run has at least its first)"),
    createdAt: z.iso.datetime({ offset: true }),
    startedAt: z.iso.datetime({ offset: true }).nullable(),
    finishedAt: z.iso.datetime({ offset: true }).nullable(),
    error: RunErrorSchema.nullable().describe("A failed run's error (its run.failed data.error)"),
  })
  .meta({ id: 'Run' });

export type Run = z.infer<typeof RunSchema>;

/** One page of `GET /v1/runs`, newest first. */
export const RunPageSchema = z
  .object({
    runs: z.array(RunSchema),
    nextCursor: z
      .string()
      .nullable()
      .describe('Pass it as `cursor` to read the next page; null on the last page'),
  })
  .meta({ id: 'RunPage' });

export type RunPage = z.infer<typeof RunPageSchema>;
