import { z } from 'zod';

/** A graph runs can be created of: the newest registration of its name, as `GET /v1/graphs` lists it. */
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
    lastSeenAt: z.iso
      .datetime({ offset: true })
      .describe('When a worker serving this version last vouched for it'),
  })
  .meta({ id: 'Graph' });

export type Graph = z.infer<typeof GraphSchema>;

/** `GET /v1/graphs`: every registered name once, in name order. */
export const GraphListSchema = z.object({ graphs: z.array(GraphSchema) }).meta({ id: 'GraphList' });

export type GraphList = z.infer<typeof GraphListSchema>;
