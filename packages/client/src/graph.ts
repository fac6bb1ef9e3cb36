import { z } from 'zod';

/** A graph runs can be created of, as `GET /v1/graphs` lists it. Unknown extra fields are kept. */
export const GraphSchema = z.looseObject({
  name: z.string(),
  description: z.string().nullish(),
  /** JSON Schema (draft 2020-12) of the graph's input: what `create` is checked against. */
  inputSchema: z.record(z.string(), z.unknown()),
  version: z.string().optional(),
  /** Whether a worker serves it now; runs of a graph with none wait queued. */
  live: z.boolean().optional(),
  lastSeenAt: z.string().optional(),
});
export type Graph = z.infer<typeof GraphSchema>;

export const GraphListSchema = z.object({ graphs: z.array(GraphSchema) });
