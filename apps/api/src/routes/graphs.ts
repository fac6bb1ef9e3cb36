import type { GraphCatalog } from '@runstream/graph-catalog';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';

import { ErrorSchema, GraphListSchema } from '../schemas.js';

export interface GraphRoutesDeps {
  graphs: Pick<GraphCatalog, 'list'>;
}

export const graphRoutes: FastifyPluginAsyncZod<GraphRoutesDeps> = async (app, { graphs }) => {
  app.get(
    '/graphs',
    {
      schema: {
        summary:
          'The graphs runs can be created of: the newest registration of each name, with its input JSON Schema',
        response: { 200: GraphListSchema, 401: ErrorSchema, 429: ErrorSchema },
      },
    },
    // Read at each request, not from the catalog's cache: a client that lists the graphs and then
    // creates a run sees what the next POST will be checked against, or newer.
    async () => ({
      graphs: (await graphs.list()).map((g) => ({
        name: g.name,
        description: g.description,
        inputSchema: g.inputSchema,
        version: g.version,
        live: g.live,
        lastSeenAt: g.lastSeenAt.toISOString(),
      })),
    }),
  );
};
