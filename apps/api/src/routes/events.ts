import type { Bus } from '@runstream/bus';
import { isTerminalType } from '@runstream/events';
import {
  type EventVisibility,
  type RunEventRepo,
  type RunRepo,
  toEnvelope,
} from '@runstream/persistence';
import {
  type RunFollower,
  type StreamReads,
  followRun,
  formatReconnectFrame,
  pipeRunEvents,
  resolveStartPoint,
} from '@runstream/stream';
import {
  EVENT_STREAM_MEDIA_TYPE,
  EventPageSchema,
  EventsQuerySchema,
  StreamFrameSchema,
} from '@runstream/contract';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';

import { ApiError } from '../errors.js';
import type { ApiMetrics } from '../metrics.js';
import { errorResponses } from '../openapi.js';
import { EventStreamHeaders, RunIdParams } from '../schemas.js';

/** The abort reason of a stream closed by the server on purpose (shutdown): not the run's end. */
export const PLANNED_CLOSE = Symbol('planned close');

interface StreamSettings {
  heartbeatMs: number;
  stallTimeoutMs: number;
  maxBufferedEvents: number;
  /** Open streams one tenant may have in this process (TOO_MANY_STREAMS past it). */
  maxStreamsPerTenant: number;
  /** Bytes of event data in one JSON page and in one database read of a stream. */
  pageMaxBytes: number;
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
  /**
   * Open streams, each with a promise of its end: the server aborts them together with
   * PLANNED_CLOSE when it closes, and waits for them to end.
   */
  openStreams: Map<AbortController, Promise<void>>;
}

export const eventRoutes: FastifyPluginAsyncZod<EventRoutesDeps> = async (app, deps) => {
  const { runs, events, streamReads, bus, metrics, openStreams } = deps;
  const streamsOfTenant = new Map<string, number>();
  // A storm of clients opening one run shares the lookup in flight: one query, not one per client.
  // Only in-flight lookups are shared (no cache); the stream reads what happened since anyway.
  const lookups = new Map<string, ReturnType<RunRepo['get']>>();
  const lookup = (tenant: string, runId: string): ReturnType<RunRepo['get']> => {
    const key = `${tenant}\u0000${runId}`;
    let pending = lookups.get(key);
    if (!pending) {
      pending = runs.get(tenant, runId);
      lookups.set(key, pending);
      const forget = (): void => void lookups.delete(key);
      pending.then(forget, forget);
    }
    return pending;
  };

  app.get(
    '/runs/:runId/events',
    {
      // 'dual': the plugin hands SSE only to an explicit Accept: text/event-stream; everything
      // else reaches this handler with reply.sse unset and gets JSON pages. The heartbeat is ours,
      // because each beat also checks the database for the run's end.
      sse: { kind: 'dual', heartbeat: false },
      schema: {
        operationId: 'getRunEvents',
        tags: ['events'],
        summary: "A run's events, as JSON pages or as a Server-Sent Events stream",
        description:
          'With `Accept: text/event-stream` the answer is a stream: the events from the start ' +
          'point (Last-Event-ID, exclusive, else fromSeq, inclusive, else 1) are replayed, then ' +
          'followed live, with no gap, duplicate or reordering; it ends after the terminal event. ' +
          'A planned close before the end (a shutdown, a deploy) sends a `reconnect` frame first: ' +
          'reconnect with Last-Event-ID. While no event flows the server sends a `: heartbeat` ' +
          'comment at least every RUNSTREAM_SSE_HEARTBEAT_MS (15 s). The stream is sent with ' +
          '`Cache-Control: no-cache, no-transform` and `X-Accel-Buffering: no`. Any other Accept ' +
          'gets JSON pages.',
        params: RunIdParams,
        querystring: EventsQuerySchema,
        headers: EventStreamHeaders,
        response: {
          200: {
            description:
              'JSON: a page of events. SSE: the stream, one frame per event, or a reconnect frame',
            content: {
              'application/json': { schema: EventPageSchema },
              [EVENT_STREAM_MEDIA_TYPE]: { schema: StreamFrameSchema },
            },
          },
          204: z
            .null()
            .describe(
              "SSE only: the start point is past the ended run's terminal event; nothing will come (an EventSource stops reconnecting)",
            ),
          ...errorResponses(['RUN_NOT_FOUND', 'INVALID_START_POINT', 'TOO_MANY_STREAMS']),
        },
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
      const run = await lookup(request.principal.tenant, runId);

      if (sse && run.finishedAt !== null && afterSeq >= run.nextSeq - 1) {
        // The client already has the terminal event, or starts past it: nothing will ever come.
        // 204 before any frame is what makes a WHATWG EventSource stop reconnecting.
        return reply.code(204).send(null);
      }

      if (!sse) {
        const rows = await events.readPage(runId, {
          fromSeq: afterSeq + 1,
          limit: request.query.limit,
          maxBytes: deps.stream.pageMaxBytes,
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

      // Checked and counted with no await in between, so concurrent opens cannot overshoot.
      const { tenant } = request.principal;
      const open = streamsOfTenant.get(tenant) ?? 0;
      if (open >= deps.stream.maxStreamsPerTenant) {
        throw new ApiError(
          'TOO_MANY_STREAMS',
          `this tenant has ${open} streams open, the most allowed: close one first`,
        );
      }
      streamsOfTenant.set(tenant, open + 1);
      const controller = new AbortController();
      let ended: () => void = () => undefined;
      openStreams.set(controller, new Promise<void>((resolve) => (ended = resolve)));
      metrics.streamsOpen.inc();
      sse.keepAlive();
      reply.header('Cache-Control', 'no-cache, no-transform');
      // The SSE plugin sets `Connection: keep-alive` whatever the request asked for, which makes
      // Node keep the socket open after the end; a client's `close` must win.
      if (/(^|,)\s*close\s*(,|$)/i.test(request.headers.connection ?? '')) {
        reply.header('Connection', 'close');
      }
      sse.sendHeaders(200);
      // Proxies and clients see the stream is open at once, before the first event exists.
      reply.raw.flushHeaders();
      sse.onClose(() => controller.abort());
      let reason: 'terminal' | 'client' | 'stalled' | 'shutdown' | 'error' = 'client';
      let sentTerminal = false;
      let follower: RunFollower | undefined;
      try {
        follower = followRun(
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
            pageMaxBytes: deps.stream.pageMaxBytes,
            pollIntervalMs: deps.stream.pollIntervalMs,
            replay: deps.stream.replay,
          },
        );
        const end = await pipeRunEvents(follower, reply.raw, {
          signal: controller.signal,
          heartbeatMs: deps.stream.heartbeatMs,
          stallTimeoutMs: deps.stream.stallTimeoutMs,
          onBatch: (batch) => {
            metrics.streamEvents.inc(batch.length);
            sentTerminal = isTerminalType(batch[batch.length - 1]!.type);
          },
        });
        if (end === 'terminal') reason = 'terminal';
        else if (end === 'stalled') reason = 'stalled';
        else if (controller.signal.reason === PLANNED_CLOSE) reason = 'shutdown';
      } catch (error) {
        reason = 'error';
        request.log.error({ err: error, runId }, 'stream failed');
      } finally {
        openStreams.delete(controller);
        const left = (streamsOfTenant.get(tenant) ?? 1) - 1;
        if (left > 0) streamsOfTenant.set(tenant, left);
        else streamsOfTenant.delete(tenant);
        metrics.streamsOpen.dec();
        metrics.streamEnds.inc({ reason });
        if (reason === 'stalled' || reason === 'error') {
          // Cut, not ended: the client must not take this for the end of the run; it resumes
          // with Last-Event-ID and the database has everything it missed.
          reply.raw.destroy();
        } else {
          // A clean end without the terminal event would read as the end of the run to a plain
          // reader (curl, fetch): a planned close, or a start point the run ended short of, says
          // "reconnect from here" first. The latter then gets its 204.
          const writable = reply.raw.writable && !reply.raw.destroyed;
          if (writable && (reason === 'shutdown' || (reason === 'terminal' && !sentTerminal))) {
            // The follower's last seq was handed to the socket: the client has it or will.
            reply.raw.write(formatReconnectFrame(follower?.lastSeq ?? afterSeq));
          }
          // The response went out as keep-alive; on shutdown its connection would then idle
          // until the keep-alive timeout and hold the server's close. The client reconnects anyway.
          const socket = reply.raw.socket;
          if (reason === 'shutdown') reply.raw.once('finish', () => socket?.destroy());
          sse.close();
        }
        ended();
      }
      return reply;
    },
  );
};
