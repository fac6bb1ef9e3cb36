import type { ReceivedRunEvent } from '@runstream/events';
import { createParser } from 'eventsource-parser';

import { type Backoff, abortReason, backoffDelay, sleep } from './backoff.js';
import { RunstreamError, errorFromResponse } from './errors.js';
import { createEventSequencer } from './event-sequencer.js';

/** Options of `client.events(runId, options)`. */
export interface RunEventsOptions {
  /**
   * First seq to deliver (inclusive).
   * @default 1
   */
  fromSeq?: number;
  /** Stops the stream: the iterator then throws the signal's reason. */
  signal?: AbortSignal;
  /** Called before each reconnect, with the seq the stream resumes after and why it dropped. */
  onReconnect?: (info: {
    lastSeq: number;
    attempt: number;
    delayMs: number;
    error: unknown;
  }) => void;
}

/** How the event stream reconnects; part of the client's options. Its waits follow `retry`. */
export interface ReconnectOptions {
  /**
   * Attempts in a row without receiving an event before giving up with RECONNECT_EXHAUSTED.
   * @default 30
   */
  maxAttempts?: number;
  /**
   * A connection silent for this long (no event, no heartbeat comment) is dropped and resumed. Keep it
   * above the server's RUNSTREAM_SSE_HEARTBEAT_MS.
   * @default 45000
   */
  idleTimeoutMs?: number;
}

export interface RunEventsDeps {
  fetch: typeof globalThis.fetch;
  url: (path: string) => string;
  headers: () => Record<string, string>;
  reconnect: Required<ReconnectOptions>;
  backoff: Backoff;
}

/** The connection ended without the terminal event: resume, never treat it as the end of the run. */
class StreamDropped extends Error {}

/**
 * The server closed the stream on purpose before the end (a shutdown, a deploy) and said so with
 * an `event: reconnect` frame: resume at once, without the backoff of a failure.
 */
class PlannedClose extends StreamDropped {}

/**
 * A run's events in seq order, each exactly once, ending after the terminal event, or at once when
 * the api answers 204 (the start point is past the end of an ended run). A dropped connection, or
 * one the server closed early (a deploy, a restart: an `event: reconnect` frame, resumed without
 * delay), is resumed with Last-Event-ID set to the last seq delivered; repeats are dropped by seq
 * and a hole makes it resume again rather than skip an event.
 */
export async function* streamRunEvents(
  deps: RunEventsDeps,
  runId: string,
  options: RunEventsOptions = {},
): AsyncGenerator<ReceivedRunEvent, void, undefined> {
  const sequencer = createEventSequencer({ runId, fromSeq: options.fromSeq });
  const { reconnect, backoff } = deps;
  let attempt = 0;
  let first = true;
  while (!sequencer.done) {
    options.signal?.throwIfAborted();
    const connection = new AbortController();
    const onAbort = (): void => connection.abort(options.signal?.reason);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const queue: ReceivedRunEvent[] = [];
    let progressed = false;
    try {
      const path = `/v1/runs/${encodeURIComponent(runId)}/events`;
      const headers: Record<string, string> = { ...deps.headers(), accept: 'text/event-stream' };
      // The first connection may start mid-run with fromSeq; every later one resumes after the last
      // seq delivered, which Last-Event-ID says exclusively (fromSeq is inclusive).
      const query = first && options.fromSeq !== undefined ? `?fromSeq=${options.fromSeq}` : '';
      if (!first) headers['last-event-id'] = String(sequencer.lastSeq);
      first = false;
      const response = await deps
        .fetch(deps.url(path + query), { headers, signal: connection.signal })
        .catch((error: unknown) => {
          throw toNetworkError(error, options.signal);
        });
      if (!response.ok) throw await errorFromResponse(response);
      // 204: the start point is past the run's terminal event, so nothing will ever come.
      if (response.status === 204) return;
      if (!response.body)
        throw new RunstreamError(
          'INVALID_RESPONSE',
          'event stream without a body',
          response.status,
        );

      let planned = false;
      const parser = createParser({
        onEvent(message) {
          // A control frame, not an event of the run: the server will end this response next.
          if (message.event === 'reconnect') {
            planned = true;
            return;
          }
          const verdict = sequencer.accept(message.data);
          if (verdict.kind === 'event') queue.push(verdict.event);
          else if (verdict.kind === 'gap') {
            throw new StreamDropped(`seq ${verdict.seq} arrived where ${verdict.expected} was due`);
          }
        },
      });
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      try {
        for (;;) {
          const chunk = await readWithIdleTimeout(reader, reconnect.idleTimeoutMs, connection);
          if (chunk.done) break;
          let dropped: Error | undefined;
          try {
            parser.feed(chunk.value);
          } catch (error) {
            dropped = error instanceof Error ? error : new Error(String(error));
          }
          // Events accepted before a gap in the same chunk are still owed to the caller.
          if (queue.length > 0) {
            progressed = true;
            attempt = 0;
          }
          while (queue.length > 0) yield queue.shift()!;
          if (dropped !== undefined) throw dropped;
          if (sequencer.done) return;
        }
      } finally {
        connection.abort();
        reader.releaseLock();
      }
      if (planned) throw new PlannedClose('the server asked to reconnect (planned close)');
      throw new StreamDropped('the server closed the stream before the terminal event');
    } catch (error) {
      if (options.signal?.aborted) throw abortReason(options.signal);
      if (error instanceof RunstreamError && !error.retryable) throw error;
      attempt = progressed ? 1 : attempt + 1;
      if (attempt > reconnect.maxAttempts) {
        throw new RunstreamError(
          'RECONNECT_EXHAUSTED',
          `event stream of run ${runId} lost after seq ${sequencer.lastSeq}: ${describe(error)}`,
          undefined,
          undefined,
          { cause: error },
        );
      }
      // A planned close is not a failure: resume now (still counted, so a server that keeps
      // closing without progress cannot hold the client in a loop). A refusal that says when to
      // come back (429 or 503 with Retry-After) is waited out, unless it asks for too long.
      const retryAfterMs = error instanceof RunstreamError ? error.retryAfterMs : undefined;
      if (retryAfterMs !== undefined && retryAfterMs > backoff.maxRetryAfterMs) throw error;
      const delayMs =
        error instanceof PlannedClose ? 0 : backoffDelay(attempt, backoff, retryAfterMs);
      options.onReconnect?.({ lastSeq: sequencer.lastSeq, attempt, delayMs, error });
      await sleep(delayMs, options.signal);
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
  }
}

async function readWithIdleTimeout(
  reader: ReadableStreamDefaultReader<string>,
  idleTimeoutMs: number,
  connection: AbortController,
): ReturnType<ReadableStreamDefaultReader<string>['read']> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const idle = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      connection.abort();
      reject(new StreamDropped(`no data for ${idleTimeoutMs} ms`));
    }, idleTimeoutMs);
  });
  try {
    return await Promise.race([reader.read(), idle]);
  } catch (error) {
    if (error instanceof StreamDropped || error instanceof RunstreamError) throw error;
    throw toNetworkError(error);
  } finally {
    clearTimeout(timer);
  }
}

function toNetworkError(error: unknown, signal?: AbortSignal): unknown {
  if (signal?.aborted) return abortReason(signal);
  return new RunstreamError(
    'NETWORK_ERROR',
    `connection failed: ${describe(error)}`,
    undefined,
    undefined,
    {
      cause: error,
    },
  );
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    return cause instanceof Error && cause.message
      ? `${error.message} (${cause.message})`
      : error.message;
  }
  return String(error);
}
