import http from 'node:http';

import type { RunEventEnvelope } from '@runstream/events';

export interface SseFrame {
  id: string | undefined;
  event: string | undefined;
  data: string;
}

export interface SseClient {
  /** The response status and headers, once they arrive. */
  readonly response: Promise<{ status: number; headers: http.IncomingHttpHeaders }>;
  readonly frames: SseFrame[];
  /** The parsed `data` of each event frame (control frames, which have no id, are left out). */
  readonly events: RunEventEnvelope[];
  /** Heartbeat comments received. */
  readonly comments: number;
  /** The body of a non-SSE answer (an error). */
  readonly body: string;
  /** Resolves when the server ends the response or the connection closes. */
  readonly closed: Promise<void>;
  /** Resolves once the predicate holds for the events received so far. */
  waitFor(
    predicate: (events: readonly RunEventEnvelope[]) => boolean,
    deadlineMs?: number,
  ): Promise<void>;
  close(): void;
}

/** A minimal EventSource for tests: one connection, frames parsed as they come, no reconnect. */
export function openSse(url: string, headers: Record<string, string> = {}): SseClient {
  const frames: SseFrame[] = [];
  const events: RunEventEnvelope[] = [];
  let comments = 0;
  let body = '';
  let pending = '';
  const waiters = new Set<() => void>();
  const wakeAll = (): void => {
    for (const waiter of waiters) waiter();
  };
  let closedFlag = false;
  let status: number | undefined;
  let failure: Error | undefined;

  const request = http.get(url, {
    headers: { accept: 'text/event-stream', ...headers },
    agent: false,
  });
  const response = new Promise<{ status: number; headers: http.IncomingHttpHeaders }>(
    (resolve, reject) => {
      request.once('error', reject);
      request.once('response', (res) =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers }),
      );
    },
  );
  const closed = new Promise<void>((resolve) => {
    const finish = (): void => {
      closedFlag = true;
      wakeAll();
      resolve();
    };
    request.once('error', (error) => {
      failure = error;
      finish();
    });
    request.once('close', finish);
    request.once('response', (res) => {
      status = res.statusCode;
      res.setEncoding('utf8');
      const sse = (res.headers['content-type'] ?? '').startsWith('text/event-stream');
      res.on('data', (chunk: string) => {
        if (!sse) {
          body += chunk;
          return;
        }
        pending += chunk;
        let end: number;
        while ((end = pending.indexOf('\n\n')) >= 0) {
          const block = pending.slice(0, end);
          pending = pending.slice(end + 2);
          const frame: SseFrame = { id: undefined, event: undefined, data: '' };
          let isComment = true;
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) continue;
            isComment = false;
            const colon = line.indexOf(':');
            const field = colon < 0 ? line : line.slice(0, colon);
            const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
            if (field === 'id') frame.id = value;
            else if (field === 'event') frame.event = value;
            else if (field === 'data') frame.data += frame.data ? `\n${value}` : value;
          }
          if (isComment) {
            comments++;
            continue;
          }
          frames.push(frame);
          // A control frame (`event: reconnect`, no id) is not an event of the run.
          if (frame.id !== undefined) events.push(JSON.parse(frame.data) as RunEventEnvelope);
        }
        wakeAll();
      });
      res.once('end', finish);
      res.once('error', finish);
    });
  });
  // What a failed wait reports: enough to tell a refused request from a cut stream.
  const why = (): string => {
    const control = frames.filter((f) => f.id === undefined).map((f) => f.event ?? 'message');
    return [
      `${events.length} events`,
      `status ${status ?? 'none'}`,
      ...(control.length > 0 ? [`control frames: ${control.join(', ')}`] : []),
      ...(body ? [`body: ${body.slice(0, 200)}`] : []),
      ...(failure ? [`connection: ${failure.message}`] : []),
    ].join('; ');
  };
  // The test asserts on `closed`; an error event must not crash the runner.
  response.catch(() => undefined);

  return {
    response,
    frames,
    events,
    get comments() {
      return comments;
    },
    get body() {
      return body;
    },
    closed,
    async waitFor(predicate, deadlineMs = 30_000) {
      const deadline = Date.now() + deadlineMs;
      while (!predicate(events)) {
        if (closedFlag) throw new Error(`stream closed before the condition held (${why()})`);
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`condition not met in ${deadlineMs} ms (${why()})`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, left);
          function done(): void {
            clearTimeout(timer);
            waiters.delete(done);
            resolve();
          }
          waiters.add(done);
        });
      }
    },
    close() {
      request.destroy();
    },
  };
}
