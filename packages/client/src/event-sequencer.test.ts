import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { RunstreamError } from './errors.js';
import { createEventSequencer } from './event-sequencer.js';

const RUN = 'run_1';
const at = '2026-01-01T00:00:00.000Z';
const event = (seq: number, n: number) => ({
  runId: RUN,
  seq,
  type: seq === n ? 'run.completed' : 'synthetic.tick',
  at,
  data: seq === n ? { output: null } : { index: seq },
});

describe('createEventSequencer', () => {
  it('delivers 1..n exactly once whatever repeats and restarts the transport makes (I3)', () => {
    // Each connection replays from some seq at or below the next one due (a resume after a drop,
    // a bus repeat) and carries on for a while: the sequencer must turn any such history into 1..n.
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.array(fc.tuple(fc.nat(5), fc.integer({ min: 1, max: 15 })), {
          minLength: 1,
          maxLength: 30,
        }),
        (n, connections) => {
          const seq = createEventSequencer({ runId: RUN });
          const delivered: number[] = [];
          const feed = (from: number, count: number) => {
            for (let s = Math.max(1, from); s < from + count && s <= n && !seq.done; s++) {
              const verdict = seq.accept(JSON.stringify(event(s, n)));
              if (verdict.kind === 'event') delivered.push(verdict.event.seq);
            }
          };
          for (const [back, count] of connections) feed(seq.lastSeq + 1 - back, count);
          while (!seq.done) feed(seq.lastSeq + 1, n);
          expect(delivered).toEqual(Array.from({ length: n }, (_, i) => i + 1));
        },
      ),
    );
  });

  it('reports a hole instead of skipping over it', () => {
    const seq = createEventSequencer({ runId: RUN });
    expect(seq.accept(event(1, 9)).kind).toBe('event');
    expect(seq.accept(event(3, 9))).toEqual({ kind: 'gap', expected: 2, seq: 3 });
    expect(seq.lastSeq).toBe(1);
  });

  it('starts at fromSeq and drops what comes before it', () => {
    const seq = createEventSequencer({ runId: RUN, fromSeq: 3 });
    expect(seq.accept(event(2, 9)).kind).toBe('duplicate');
    expect(seq.accept(event(3, 9)).kind).toBe('event');
  });

  it('accepts nothing after the terminal event', () => {
    const seq = createEventSequencer({ runId: RUN });
    seq.accept(event(1, 1));
    expect(seq.done).toBe(true);
    expect(seq.accept(event(2, 1)).kind).toBe('duplicate');
  });

  it('rejects frames that are not canonical events of this run', () => {
    const seq = createEventSequencer({ runId: RUN });
    expect(() => seq.accept('{not json')).toThrow(RunstreamError);
    expect(() => seq.accept({ ...event(1, 2), seq: 0 })).toThrow(/seq/);
    expect(() => seq.accept({ ...event(1, 2), runId: 'other' })).toThrow(/other/);
    expect(() => seq.accept({ ...event(1, 2), data: { index: 'one' } })).toThrow(/index/);
  });

  it('passes an event type it does not know on its envelope alone', () => {
    const seq = createEventSequencer({ runId: RUN });
    expect(seq.accept({ runId: RUN, seq: 1, type: 'future.thing', at, data: { x: 1 } }).kind).toBe(
      'event',
    );
  });
});

describe('run ids without regard to case', () => {
  it('A6: a stream asked for by an upper-case id accepts the events the api sends in lower case', () => {
    const id = '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';
    const seq = createEventSequencer({ runId: id.toUpperCase() });
    const verdict = seq.accept(
      JSON.stringify({ runId: id, seq: 1, type: 'synthetic.tick', at, data: { index: 1 } }),
    );
    expect(verdict.kind).toBe('event');
    expect(() =>
      seq.accept(
        JSON.stringify({
          runId: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c',
          seq: 2,
          type: 'synthetic.tick',
          at,
          data: { index: 2 },
        }),
      ),
    ).toThrow(RunstreamError);
  });
});
