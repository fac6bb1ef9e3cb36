import { describe, expect, it } from 'vitest';

import type { Bus, BusMessage } from '../bus.js';
import { BusError } from '../errors.js';
import { createMemoryBus } from '../memory-bus.js';
import { bySeq, cycle, when, withMessageFaults } from './message-faults.js';

const runA = '0190f0f0-0000-7000-8000-00000000000a';
const runB = '0190f0f0-0000-7000-8000-00000000000b';
const message = (seq: number, runId = runA, type = 'text.delta'): BusMessage => ({
  source: 'outbox',
  runId,
  seq,
  event: { runId, seq, type, at: '2026-12-02T00:00:00.000Z', data: { seq } },
});
const messages = (from: number, to: number, runId = runA): BusMessage[] =>
  Array.from({ length: to - from + 1 }, (_, i) => message(from + i, runId));

/** What the subscribers of `runId` receive: seq, and whether the event came with it. */
async function receiver(bus: Bus, runId = runA) {
  const got: string[] = [];
  await bus.subscribe(runId, {
    onMessage: (m) => got.push(m.event ? String(m.seq) : `${m.seq}*`),
    onResync: () => undefined,
  });
  return got;
}

describe('withMessageFaults (the bus decorator of @runstream/bus/testing)', () => {
  it('delivers every message as it is without a plan', async () => {
    const bus = withMessageFaults(createMemoryBus());
    const got = await receiver(bus);
    await bus.publish(messages(1, 3));
    expect(got).toEqual(['1', '2', '3']);
    expect(bus.counts).toEqual({ deliver: 3, drop: 0, repeat: 0, pointer: 0 });
  });

  it('drops, repeats and turns into pointers the messages its plan picks, in order, on every subscriber', async () => {
    const bus = withMessageFaults(
      createMemoryBus(),
      bySeq({ 2: 'drop', 3: 'repeat', 4: 'pointer' }),
    );
    const first = await receiver(bus);
    const second = await receiver(bus);
    await bus.publish(messages(1, 5));
    expect(first).toEqual(['1', '3', '3', '4*', '5']);
    expect(second).toEqual(first);
    expect(bus.counts).toEqual({ deliver: 2, drop: 1, repeat: 1, pointer: 1 });
  });

  it('a pointer keeps its run and seq and nothing else', async () => {
    const inner = createMemoryBus();
    const bus = withMessageFaults(inner, () => 'pointer');
    const seen: BusMessage[] = [];
    await inner.subscribe(runA, { onMessage: (m) => seen.push(m), onResync: () => undefined });
    await bus.publish([message(7)]);
    expect(seen).toEqual([{ source: 'outbox', runId: runA, seq: 7 }]);
  });

  it('cycle counts messages across publish calls and runs, so a test replays exactly', async () => {
    const bus = withMessageFaults(createMemoryBus(), cycle(['deliver', 'drop', 'repeat']));
    const a = await receiver(bus, runA);
    const b = await receiver(bus, runB);
    await bus.publish([message(1, runA), message(1, runB)]);
    await bus.publish([message(2, runA), message(2, runB), message(3, runA)]);
    // Indexes 0..4: deliver, drop, repeat, deliver, drop.
    expect(a).toEqual(['1', '2', '2']);
    expect(b).toEqual(['2']);
  });

  it('when picks messages by content and leaves the rest to the plan; setPlan changes the next ones', async () => {
    const bus = withMessageFaults(
      createMemoryBus(),
      when((m) => m.event?.type === 'run.completed', 'drop', cycle(['deliver', 'pointer'])),
    );
    const got = await receiver(bus);
    await bus.publish([message(1), message(2), message(3, runA, 'run.completed')]);
    bus.setPlan(() => 'repeat');
    await bus.publish([message(4)]);
    expect(got).toEqual(['1', '2*', '4', '4']);
  });

  it('does not reach the inner bus when every message is dropped, and passes its errors on otherwise', async () => {
    const inner = createMemoryBus();
    const bus = withMessageFaults(inner, bySeq({ 1: 'drop' }));
    await inner.close();
    await expect(bus.publish([message(1)])).resolves.toBeUndefined();
    await expect(bus.publish([message(1), message(2)])).rejects.toBeInstanceOf(BusError);
    expect(await bus.ping()).toBe(false);
  });

  it('refuses an empty cycle', () => {
    expect(() => cycle([])).toThrow(RangeError);
  });
});
