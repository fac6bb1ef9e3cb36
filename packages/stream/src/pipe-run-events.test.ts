import { PassThrough } from 'node:stream';

import type { RunEventEnvelope } from '@runstream/events';
import { afterEach, describe, expect, it, vi } from 'vitest';

import type { RunFollower } from './follow-run.js';
import { HEARTBEAT_FRAME } from './frame.js';
import { pipeRunEvents } from './pipe-run-events.js';

const event = (seq: number, type = 'step'): RunEventEnvelope => ({
  runId: 'r',
  seq,
  type,
  at: '2026-01-01T00:00:00.000Z',
  data: {},
});

/** A follower fed by the test: push() hands it a batch, end() finishes it. */
function manualFollower() {
  const queue: RunEventEnvelope[][] = [];
  let wake: (() => void) | undefined;
  let done = false;
  let checks = 0;
  const follower: RunFollower = {
    lastSeq: 0,
    check: () => void checks++,
    async *[Symbol.asyncIterator]() {
      for (;;) {
        const batch = queue.shift();
        if (batch) {
          yield batch;
          continue;
        }
        if (done) return;
        await new Promise<void>((resolve) => (wake = resolve));
      }
    },
  };
  return {
    follower,
    push(batch: RunEventEnvelope[]) {
      queue.push(batch);
      wake?.();
    },
    end() {
      done = true;
      wake?.();
    },
    checks: () => checks,
  };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('pipeRunEvents', () => {
  it('never leaves the wire silent longer than the heartbeat, and checks only idle streams', async () => {
    vi.useFakeTimers();
    const startedAt = Date.now();
    const out = new PassThrough();
    const writes: { at: number; heartbeat: boolean }[] = [];
    out.on('data', (chunk: Buffer) =>
      writes.push({ at: Date.now(), heartbeat: chunk.toString() === HEARTBEAT_FRAME }),
    );
    const source = manualFollower();
    const controller = new AbortController();
    const piping = pipeRunEvents(source.follower, out, {
      signal: controller.signal,
      heartbeatMs: 1000,
    });

    await vi.advanceTimersByTimeAsync(600);
    source.push([event(1)]);
    await vi.advanceTimersByTimeAsync(0);
    // Events every 300 ms for 3 s: no heartbeat and no check is needed meanwhile.
    for (let seq = 2; seq <= 11; seq++) {
      await vi.advanceTimersByTimeAsync(300);
      source.push([event(seq)]);
    }
    const checksWhileFlowing = source.checks();
    await vi.advanceTimersByTimeAsync(5000);
    source.push([event(12, 'run.completed')]);
    source.end();
    expect(await piping).toBe('terminal');

    let previous = startedAt;
    for (const write of writes) {
      expect(write.at - previous).toBeLessThanOrEqual(1000);
      previous = write.at;
    }
    expect(writes.filter((w) => !w.heartbeat)).toHaveLength(12);
    expect(checksWhileFlowing).toBe(0);
    expect(source.checks()).toBeGreaterThanOrEqual(4);
  });

  it('reports a stalled client when a write does not drain in time', async () => {
    vi.useFakeTimers();
    const out = new PassThrough({ highWaterMark: 16 });
    const source = manualFollower();
    const controller = new AbortController();
    const piping = pipeRunEvents(source.follower, out, {
      signal: controller.signal,
      heartbeatMs: 1000,
      stallTimeoutMs: 2000,
    });
    source.push([event(1)]);
    await vi.advanceTimersByTimeAsync(2500);
    expect(await piping).toBe('stalled');
  });
});
