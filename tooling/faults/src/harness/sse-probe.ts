import { isTerminalType } from '@runstream/events';
import { createParser } from 'eventsource-parser';

import { pause } from '@runstream/testkit';

export interface ProbeOptions {
  apiUrl: string;
  runId: string;
  /** Sent as `Authorization: Bearer <apiKey>` (the run's tenant's key). @default none */
  apiKey?: string;
  /** Stops following: the probe returns what it has, with `terminal` false. */
  signal: AbortSignal;
  random?: () => number;
  /**
   * Chance, after each event, that the probe drops its connection and resumes with Last-Event-ID.
   * @default 0
   */
  reconnectChance?: number;
  /** Chance that a connection stops reading for `ms` after its first event (a stalled consumer). */
  stall?: { chance: number; ms: number };
  /** Called when a connection's response headers arrive (epoch ms, sub-ms). */
  onOpen?: (openedAt: number) => void;
  /** Called once per event delivered for the first time, with its arrival time (epoch ms, sub-ms). */
  onEvent?: (event: { seq: number; at: string }, arrivedAt: number) => void;
}

export interface ProbeResult {
  runId: string;
  /** Seqs in the order they arrived, repeats and out-of-order frames included. */
  received: number[];
  /** Frames whose seq was at or below the last one received: the server sent an event twice. */
  duplicates: number;
  /** Frames whose seq skipped ahead of last + 1: the server left a hole. */
  gaps: number;
  /** Connections after the first: random drops, server cut-offs, network errors. */
  reconnects: number;
  stalls: number;
  terminal: boolean;
  lastSeq: number;
  /** Why connections ended, counted by reason. */
  drops: Record<string, number>;
}

/** Epoch milliseconds with the monotonic clock's resolution. */
export const now = (): number => performance.timeOrigin + performance.now();

/**
 * Follows one run's SSE stream at the wire level and checks the server's side of I3 without the
 * product client's deduplication in the way: every frame must be exactly last + 1, across any
 * number of reconnects, each resumed with Last-Event-ID set to the last seq received.
 */
export async function probeRun(options: ProbeOptions): Promise<ProbeResult> {
  const random = options.random ?? Math.random;
  const result: ProbeResult = {
    runId: options.runId,
    received: [],
    duplicates: 0,
    gaps: 0,
    reconnects: 0,
    stalls: 0,
    terminal: false,
    lastSeq: 0,
    drops: {},
  };
  const dropped = (reason: string): void =>
    void (result.drops[reason] = (result.drops[reason] ?? 0) + 1);
  let connections = 0;
  let failures = 0;
  while (!result.terminal && !options.signal.aborted) {
    if (connections++ > 0) result.reconnects++;
    const connection = new AbortController();
    const onAbort = (): void => connection.abort();
    options.signal.addEventListener('abort', onAbort, { once: true });
    let reason = 'server closed before the terminal event';
    try {
      const headers: Record<string, string> = { accept: 'text/event-stream' };
      if (options.apiKey) headers.authorization = `Bearer ${options.apiKey}`;
      if (result.lastSeq > 0) headers['last-event-id'] = String(result.lastSeq);
      const response = await fetch(`${options.apiUrl}/v1/runs/${options.runId}/events`, {
        headers,
        signal: connection.signal,
      });
      if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
      options.onOpen?.(now());
      const stallThis = options.stall !== undefined && random() < options.stall.chance;
      let resume = false;
      const parser = createParser({
        onEvent(message) {
          const event = JSON.parse(message.data) as { seq: number; type: string; at: string };
          result.received.push(event.seq);
          if (event.seq <= result.lastSeq) {
            result.duplicates++;
            return;
          }
          if (event.seq > result.lastSeq + 1) {
            result.gaps++;
            resume = true;
            return;
          }
          result.lastSeq = event.seq;
          options.onEvent?.(event, now());
          if (isTerminalType(event.type)) result.terminal = true;
          else if (options.reconnectChance && random() < options.reconnectChance) resume = true;
        },
      });
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let first = true;
      try {
        while (!result.terminal && !resume) {
          const chunk = await reader.read();
          if (chunk.done) break;
          parser.feed(chunk.value);
          if (first && stallThis && result.lastSeq > 0) {
            // Stop reading while the server keeps writing: its buffer and the socket's fill up, and
            // the server must cut this connection off rather than buffer without bound.
            first = false;
            result.stalls++;
            await pause(options.stall!.ms, options.signal);
          }
        }
      } finally {
        connection.abort();
        reader.releaseLock();
      }
      if (resume) reason = 'random reconnect';
      failures = 0;
    } catch (error) {
      reason = error instanceof Error ? `error: ${error.message.split('\n')[0]}` : 'error';
      failures++;
    } finally {
      options.signal.removeEventListener('abort', onAbort);
    }
    if (result.terminal || options.signal.aborted) break;
    dropped(reason);
    // Connection refused while the api restarts: back off a little, up to a second.
    await pause(failures > 0 ? Math.min(1000, 50 * 2 ** failures) : random() * 100, options.signal);
  }
  if (!result.terminal) dropped('still open, no terminal event, when the suite stopped waiting');
  return result;
}
