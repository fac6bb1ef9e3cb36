import type { Writable } from 'node:stream';

import type { RunEventEnvelope } from '@runstream/events';

import type { RunFollower } from './follow-run.js';
import { HEARTBEAT_FRAME, formatFrames } from './frame.js';

export interface PipeRunEventsOptions {
  /** Ends the pipe; the caller aborts the follower's signal too. */
  signal: AbortSignal;
  /**
   * Longest silence on the wire: a heartbeat comment goes out when nothing else did for this long.
   * Also the interval of the database check for a lost final message, on streams that wrote no
   * event for that long.
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
  const { heartbeatMs } = options;
  let draining = false;
  let lastWriteAt = Date.now();
  let lastBatchAt = Date.now();
  let lastCheckAt = Date.now();
  // Ticking at half the interval keeps the wire silent for at most heartbeatMs, however the
  // writes fall between ticks.
  const heartbeat = setInterval(
    () => {
      const now = Date.now();
      // A heartbeat behind a full buffer would only add to it; the stall timer covers that case.
      if (now - lastWriteAt >= heartbeatMs / 2 && !draining && out.writable) {
        out.write(HEARTBEAT_FRAME);
        lastWriteAt = now;
      }
      // Only an idle stream needs the check: events flowing prove the run alive.
      if (now - lastBatchAt >= heartbeatMs && now - lastCheckAt >= heartbeatMs) {
        lastCheckAt = now;
        follower.check();
      }
    },
    Math.max(1, Math.floor(heartbeatMs / 2)),
  );
  heartbeat.unref();
  try {
    for await (const batch of follower) {
      if (signal.aborted) return 'aborted';
      lastWriteAt = lastBatchAt = Date.now();
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
