import type { Bus } from '@runstream/bus';
import { isTerminalType } from '@runstream/events';
import {
  type EventVisibility,
  type RunEventRepo,
  type RunRepo,
  toEnvelope,
} from '@runstream/persistence';
import { type StreamReads, followRun, pipeRunEvents, resolveStartPoint } from '@runstream/stream';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';

import type { ApiMetrics } from '../metrics.js';
import { ErrorSchema, EventPageSchema, EventsQuery, RunIdParams } from '../schemas.js';

export interface StreamSettings {
  heartbeatMs: number;
  stallTimeoutMs: number;
  maxBufferedEvents: number;
  pollIntervalMs: number;
  /** What replay, gap fill and JSON pages read (RUNSTREAM_SSE_REPLAY). */
  replay: EventVisibility;
}

export interface EventRoutesDeps {
  runs: RunRepo;
  events: RunEventRepo;
  /** Reads for streams: shared among streams asking for the same page at once. */
  streamReads: StreamReads;
  bus: Bus;
  metrics: ApiMetrics;
  stream: StreamSettings;
  /** Open streams, aborted together when the server closes. */
  openStreams: Set<AbortController>;
}

export const eventRoutes: FastifyPluginAsyncZod<EventRoutesDeps> = async (app, deps) => {
  const { runs, events, streamReads, bus, metrics, openStreams } = deps;

  app.get(
    '/runs/:runId/events',
    {
      // 'dual': the plugin hands SSE only to an explicit Accept: text/event-stream; everything
      // else reaches this handler with reply.sse unset and gets JSON pages. The heartbeat is ours,
      // because each beat also checks the database for the run's end.
      sse: { kind: 'dual', heartbeat: false },
      schema: {
        summary:
          'Events of a run: JSON pages, or SSE (replay then live) with Accept: text/event-stream',
        params: RunIdParams,
        querystring: EventsQuery,
        response: { 200: EventPageSchema, 400: ErrorSchema, 404: ErrorSchema },
      },
    },
    async (request, reply) => {
      const { runId } = request.params;
      const sse = reply.sse;
      const lastEventId = sse ? request.headers['last-event-id'] : undefined;
      // Both checks come before any frame: a bad start point is a 400, another tenant's run a 404.
      const afterSeq = resolveStartPoint({
        lastEventId: typeof lastEventId === 'string' ? lastEventId : undefined,
        fromSeq: request.query.fromSeq,
      });
      const run = await runs.get(request.principal.tenant, runId);

      if (!sse) {
        const rows = await events.readPage(runId, {
          fromSeq: afterSeq + 1,
          limit: request.query.limit,
          visibility: deps.stream.replay,
        });
        const page = rows.map(toEnvelope);
        const lastRow = page[page.length - 1];
        const nextSeq = lastRow ? lastRow.seq + 1 : afterSeq + 1;
        const terminal =
          (lastRow !== undefined && isTerminalType(lastRow.type)) ||
          (run.finishedAt !== null && nextSeq >= run.nextSeq);
        return { events: page, nextSeq, terminal };
      }

      const controller = new AbortController();
      openStreams.add(controller);
      metrics.streamsOpen.inc();
      sse.keepAlive();
      reply.header('Cache-Control', 'no-cache, no-transform');
      sse.sendHeaders(200);
      // Proxies and clients see the stream is open at once, before the first event exists.
      reply.raw.flushHeaders();
      sse.onClose(() => controller.abort());
      let reason: 'terminal' | 'client' | 'stalled' | 'shutdown' | 'error' = 'client';
      try {
        const follower = followRun(
          {
            bus,
            events: streamReads,
            terminalSeq: async (id) => {
              const current = await runs.getById(id);
              return current.finishedAt ? current.nextSeq - 1 : undefined;
            },
          },
          {
            runId,
            afterSeq,
            signal: controller.signal,
            maxBufferedEvents: deps.stream.maxBufferedEvents,
            pollIntervalMs: deps.stream.pollIntervalMs,
            replay: deps.stream.replay,
          },
        );
        const end = await pipeRunEvents(follower, reply.raw, {
          signal: controller.signal,
          heartbeatMs: deps.stream.heartbeatMs,
          stallTimeoutMs: deps.stream.stallTimeoutMs,
          onBatch: (batch) => metrics.streamEvents.inc(batch.length),
        });
        if (end === 'terminal') reason = 'terminal';
        else if (end === 'stalled') reason = 'stalled';
        else if (reply.raw.writable && !reply.raw.destroyed) reason = 'shutdown';
      } catch (error) {
        reason = 'error';
        request.log.error({ err: error, runId }, 'stream failed');
      } finally {
        openStreams.delete(controller);
        metrics.streamsOpen.dec();
        metrics.streamEnds.inc({ reason });
        if (reason === 'stalled' || reason === 'error') {
          // Cut, not ended: the client must not take this for the end of the run; it resumes
          // with Last-Event-ID and the database has everything it missed.
          reply.raw.destroy();
        } else {
          sse.close();
        }
      }
      return reply;
    },
  );
};
