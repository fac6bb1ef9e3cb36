import { type GraphCatalog, createRun } from '@runstream/graph-catalog';
import type { OutboxWakeup, RunRepo } from '@runstream/persistence';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';

import { ApiError } from '../errors.js';
import {
  CancelRunBody,
  CreateRunBody,
  CreateRunHeaders,
  ErrorSchema,
  ListRunsQuery,
  RunIdParams,
  RunListSchema,
  RunSchema,
  toRunBody,
} from '../schemas.js';

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
        summary: 'Create a run (idempotent with idempotencyKey or the Idempotency-Key header)',
        body: CreateRunBody,
        headers: CreateRunHeaders,
        response: {
          200: RunSchema,
          201: RunSchema,
          400: ErrorSchema,
          401: ErrorSchema,
          413: ErrorSchema,
          415: ErrorSchema,
          429: ErrorSchema,
        },
      },
    },
    async (request, reply) => {
      const fromHeader = request.headers['idempotency-key'];
      const fromBody = request.body.idempotencyKey;
      if (fromHeader !== undefined && fromBody !== undefined && fromHeader !== fromBody) {
        throw new ApiError(
          'IDEMPOTENCY_KEY_CONFLICT',
          400,
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
        summary: 'List runs, newest first',
        querystring: ListRunsQuery,
        response: { 200: RunListSchema, 400: ErrorSchema, 401: ErrorSchema, 429: ErrorSchema },
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
        summary: 'Get a run',
        params: RunIdParams,
        response: { 200: RunSchema, 401: ErrorSchema, 404: ErrorSchema, 429: ErrorSchema },
      },
    },
    async (request) => toRunBody(await runs.get(request.principal.tenant, request.params.runId)),
  );

  app.post(
    '/runs/:runId/cancel',
    {
      schema: {
        summary: 'Request a cancel; the run ends with run.cancelled',
        params: RunIdParams,
        body: CancelRunBody,
        response: {
          202: RunSchema,
          400: ErrorSchema,
          401: ErrorSchema,
          404: ErrorSchema,
          409: ErrorSchema,
          413: ErrorSchema,
          415: ErrorSchema,
          429: ErrorSchema,
        },
      },
    },
    async (request, reply) => {
      const run = await runs.requestCancel(request.principal.tenant, request.params.runId);
      return reply.code(202).send(toRunBody(run));
    },
  );
};
