import { GraphListSchema } from '@runstream/contract';
import type { GraphCatalog } from '@runstream/graph-catalog';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';

import { errorResponses, jsonResponse } from '../openapi.js';

export interface GraphRoutesDeps {
  graphs: Pick<GraphCatalog, 'list'>;
}

export const graphRoutes: FastifyPluginAsyncZod<GraphRoutesDeps> = async (app, { graphs }) => {
  app.get(
    '/graphs',
    {
      schema: {
        operationId: 'listGraphs',
        tags: ['graphs'],
        summary: 'List the graphs runs can be created of',
        description:
          'The newest registration of each graph name, in name order, with its input JSON Schema: ' +
          'what POST /v1/runs checks an input against. A graph no worker serves now (live: false) ' +
          'still takes runs, which wait queued.',
        response: {
          200: jsonResponse('Every registered graph', GraphListSchema),
          ...errorResponses([]),
        },
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
