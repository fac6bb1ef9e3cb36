import { z } from 'zod';

/** A run's status, as the api reports it. */
export const RunStatusSchema = z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled']);
export type RunStatus = z.infer<typeof RunStatusSchema>;

/** A run as the api returns it (CONTRACT.md, "Run"). Unknown extra fields are kept. */
export const RunSchema = z.looseObject({
  id: z.string(),
  graph: z.string(),
  input: z.unknown(),
  status: RunStatusSchema,
  lastSeq: z.number().int().nonnegative(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  error: z.unknown(),
});
export type Run = z.infer<typeof RunSchema>;

export const RunPageSchema = z.object({
  runs: z.array(RunSchema),
  nextCursor: z.string().nullable(),
});
/** One page of `GET /v1/runs`, newest first; pass `nextCursor` back to read the next. */
export type RunPage = z.infer<typeof RunPageSchema>;

/** Whether a run in this status has ended. */
export function isTerminalStatus(status: RunStatus): boolean {
  return status === 'succeeded' || status === 'failed' || status === 'cancelled';
}
