import type { Writable } from 'node:stream';

import type { RunEventEnvelope } from '@runstream/events';

import type { RunFollower } from './follow-run.js';
import { HEARTBEAT_FRAME, formatFrames } from './frame.js';

export interface PipeRunEventsOptions {
  /** Ends the pipe; the caller aborts the follower's signal too. */
  signal: AbortSignal;
  /**
   * Interval of heartbeat comments, and of the database check for a lost final message; both are
   * skipped when a batch was written since the last beat.
   */
  heartbeatMs: number;
  /**
   * How long a write may wait for the client to read before the client counts as stalled and the
   * connection is cut (it resumes with Last-Event-ID). What waits meanwhile is one written chunk
   * plus the follower's bounded buffer, so a stalled client holds bounded memory until then.
   * @default 30000
   */
  stallTimeoutMs?: number;
  /** Called after each batch is handed to the socket. */
  onBatch?(events: readonly RunEventEnvelope[]): void;
}

/** Why a pipe ended: after the terminal event, on abort, or because the client stopped reading. */
export type PipeEnd = 'terminal' | 'aborted' | 'stalled';

/**
 * Writes a follower's events to a writable as SSE frames, one chunk per batch, waiting for the
 * socket to drain before pulling the next batch, so replay and live alike go at the client's pace.
 */
export async function pipeRunEvents(
  follower: RunFollower,
  out: Writable,
  options: PipeRunEventsOptions,
): Promise<PipeEnd> {
  const { signal } = options;
  const stallTimeoutMs = options.stallTimeoutMs ?? 30_000;
  let draining = false;
  let wrote = false;
  const heartbeat = setInterval(() => {
    // Only an idle stream needs either: events flowing prove the connection and the run alive.
    if (wrote) {
      wrote = false;
      return;
    }
    // A heartbeat behind a full buffer would only add to it; the stall timer covers that case.
    if (!draining && out.writable) out.write(HEARTBEAT_FRAME);
    follower.check();
  }, options.heartbeatMs);
  heartbeat.unref();
  try {
    for await (const batch of follower) {
      if (signal.aborted) return 'aborted';
      wrote = true;
      if (!out.write(formatFrames(batch))) {
        draining = true;
        const drained = await waitForDrain(out, stallTimeoutMs, signal);
        draining = false;
        if (drained === 'stalled') return 'stalled';
      }
      options.onBatch?.(batch);
    }
    return signal.aborted ? 'aborted' : 'terminal';
  } finally {
    clearInterval(heartbeat);
  }
}

function waitForDrain(
  out: Writable,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<'drained' | 'stalled' | 'aborted'> {
  return new Promise((resolve) => {
    const done = (result: 'drained' | 'stalled' | 'aborted'): void => {
      clearTimeout(timer);
      out.off('drain', onDrain);
      out.off('close', onAbort);
      signal.removeEventListener('abort', onAbort);
      resolve(result);
    };
    const onDrain = (): void => done('drained');
    const onAbort = (): void => done('aborted');
    const timer = setTimeout(() => done('stalled'), timeoutMs);
    out.once('drain', onDrain);
    out.once('close', onAbort);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
