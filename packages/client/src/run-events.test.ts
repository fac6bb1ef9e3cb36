import { describe, expect, it } from 'vitest';

import { createRunstreamClient } from './client.js';

const RUN = '0190f0f0-0000-7000-8000-000000000002';
const at = '2026-12-01T10:00:00.000Z';

/** An SSE answer holding these frames, as the api writes them. */
function sse(...frames: { seq: number; type: string; data: object }[]): Response {
  const body = frames
    .map(
      (f) =>
        `id: ${f.seq}\nevent: ${f.type}\ndata: ${JSON.stringify({ runId: RUN, seq: f.seq, type: f.type, at, data: f.data })}\n\n`,
    )
    .join('');
  return new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } });
}

const refused = (status: number, code: string, retryAfter: string) =>
  new Response(JSON.stringify({ error: { code, message: code } }), {
    status,
    headers: { 'content-type': 'application/json', 'retry-after': retryAfter },
  });

describe('the event stream', () => {
  it('waits out a Retry-After on a refused connection, then resumes where it stopped', async () => {
    const answers = [
      () =>
        sse(
          { seq: 1, type: 'run.queued', data: { graph: 'demo' } },
          { seq: 2, type: 'run.started', data: { graph: 'demo' } },
        ),
      () => refused(429, 'TOO_MANY_STREAMS', '1'),
      () =>
        sse(
          { seq: 2, type: 'run.started', data: { graph: 'demo' } },
          { seq: 3, type: 'run.completed', data: { output: 'done' } },
        ),
    ];
    const lastEventIds: (string | null)[] = [];
    const client = createRunstreamClient({
      baseUrl: 'http://api.test',
      fetch: async (_input, init) => {
        lastEventIds.push(new Headers(init?.headers).get('last-event-id'));
        return answers.shift()!();
      },
      retry: { initialDelayMs: 1, maxDelayMs: 1 },
    });
    const reconnects: { lastSeq: number; delayMs: number }[] = [];
    const seqs: number[] = [];
    for await (const event of client.runs.events(RUN, {
      onReconnect: ({ lastSeq, delayMs }) => reconnects.push({ lastSeq, delayMs }),
    })) {
      seqs.push(event.seq);
    }
    expect(seqs).toEqual([1, 2, 3]);
    // The drop is retried after the backoff (at most 1 ms here), the 429 after its Retry-After.
    expect(reconnects).toEqual([
      { lastSeq: 2, delayMs: expect.any(Number) as number },
      { lastSeq: 2, delayMs: 1000 },
    ]);
    expect(reconnects[0]!.delayMs).toBeLessThanOrEqual(1);
    expect(lastEventIds).toEqual([null, '2', '2']);
  });

  it('stops with the error when Retry-After asks for longer than maxRetryAfterMs', async () => {
    const client = createRunstreamClient({
      baseUrl: 'http://api.test',
      fetch: async () => refused(503, 'UNAVAILABLE', '120'),
      retry: { maxRetryAfterMs: 60_000 },
    });
    const reading = (async () => {
      for await (const _ of client.runs.events(RUN)) {
        // nothing arrives
      }
    })();
    await expect(reading).rejects.toMatchObject({ code: 'UNAVAILABLE', retryAfterMs: 120_000 });
  });
});
