import { type GraphCatalog, createRun } from '@runstream/graph-catalog';
import type { OutboxWakeup, RunRepo } from '@runstream/persistence';
import {
  CancelRunRequestSchema,
  CreateRunRequestSchema,
  ListRunsQuerySchema,
  RunPageSchema,
  RunSchema,
} from '@runstream/contract';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';

import { ApiError } from '../errors.js';
import { JSON_BODY_CODES, errorResponses, jsonResponse } from '../openapi.js';
import { CreateRunHeaders, RunIdParams, toRunBody } from '../schemas.js';

export interface RunRoutesDeps {
  runs: RunRepo;
  graphs: Pick<GraphCatalog, 'check'>;
  wakeup: OutboxWakeup;
  /** Queued runs one tenant may have (QUOTA_EXCEEDED past it). */
  maxQueuedRuns: number;
}

export const runRoutes: FastifyPluginAsyncZod<RunRoutesDeps> = async (
  app,
  { runs, graphs, wakeup, maxQueuedRuns },
) => {
  app.post(
    '/runs',
    {
      schema: {
        operationId: 'createRun',
        tags: ['runs'],
        summary: 'Create a run',
        description:
          'The run and its first event (run.queued) are written before the answer. Idempotent with ' +
          'idempotencyKey or the Idempotency-Key header: the same key again answers 200 with the ' +
          'existing run. A refused request writes nothing.',
        body: CreateRunRequestSchema,
        headers: CreateRunHeaders,
        response: {
          200: jsonResponse('The run an earlier request with the same key created', RunSchema),
          201: jsonResponse('The run, queued', RunSchema),
          ...errorResponses([
            ...JSON_BODY_CODES,
            'IDEMPOTENCY_KEY_CONFLICT',
            'UNKNOWN_GRAPH',
            'INVALID_INPUT',
            'QUOTA_EXCEEDED',
            // The run of the idempotency key was deleted while this request ran.
            'RUN_NOT_FOUND',
          ]),
        },
      },
    },
    async (request, reply) => {
      const fromHeader = request.headers['idempotency-key'];
      const fromBody = request.body.idempotencyKey;
      if (fromHeader !== undefined && fromBody !== undefined && fromHeader !== fromBody) {
        throw new ApiError(
          'IDEMPOTENCY_KEY_CONFLICT',
          'the Idempotency-Key header and body.idempotencyKey differ',
          {
            field: 'idempotencyKey',
          },
        );
      }
      // Refused before anything is written: an unknown graph or a bad input creates no run.
      const { run, created } = await createRun(
        { runs, catalog: graphs },
        {
          tenant: request.principal.tenant,
          graph: request.body.graph,
          input: request.body.input,
          idempotencyKey: fromBody ?? fromHeader,
          maxQueued: maxQueuedRuns,
        },
      );
      // The first event is committed with the run; wake the outbox so it is published now.
      if (created) wakeup.notify();
      return reply.code(created ? 201 : 200).send(toRunBody(run));
    },
  );

  app.get(
    '/runs',
    {
      schema: {
        operationId: 'listRuns',
        tags: ['runs'],
        summary: 'List runs, newest first',
        querystring: ListRunsQuerySchema,
        response: {
          200: jsonResponse('A page of runs; nextCursor reads the next', RunPageSchema),
          ...errorResponses(['INVALID_CURSOR']),
        },
      },
    },
    async (request) => {
      const page = await runs.list({ tenant: request.principal.tenant, ...request.query });
      return { runs: page.runs.map(toRunBody), nextCursor: page.nextCursor };
    },
  );

  app.get(
    '/runs/:runId',
    {
      schema: {
        operationId: 'getRun',
        tags: ['runs'],
        summary: 'Get a run',
        params: RunIdParams,
        response: {
          200: jsonResponse('The run', RunSchema),
          ...errorResponses(['RUN_NOT_FOUND']),
        },
      },
    },
    async (request) => toRunBody(await runs.get(request.principal.tenant, request.params.runId)),
  );

  app.post(
    '/runs/:runId/cancel',
    {
      schema: {
        operationId: 'cancelRun',
        tags: ['runs'],
        summary: 'Request a cancel',
        description:
          'Takes no body (or an empty one). The run ends later with run.cancelled; a repeat while ' +
          'the cancel is pending is answered the same.',
        params: RunIdParams,
        body: CancelRunRequestSchema,
        response: {
          202: jsonResponse('The run, with its cancel requested', RunSchema),
          ...errorResponses([...JSON_BODY_CODES, 'RUN_NOT_FOUND', 'RUN_TERMINAL']),
        },
      },
    },
    async (request, reply) => {
      const run = await runs.requestCancel(request.principal.tenant, request.params.runId);
      return reply.code(202).send(toRunBody(run));
    },
  );
};
