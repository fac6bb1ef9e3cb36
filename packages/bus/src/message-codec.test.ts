import { describe, expect, it } from 'vitest';

import type { BusMessage } from './bus.js';
import { decodeMessage, encodeMessage } from './message-codec.js';

const runId = '0190f0f0-0000-7000-8000-000000000001';
const message = (seq: number, text = 'hi'): BusMessage => ({
  source: 'outbox',
  runId,
  seq,
  event: { runId, seq, type: 'text.delta', at: '2026-11-26T00:00:00.000Z', data: { text } },
});

describe('message codec', () => {
  it('round-trips a message that fits', () => {
    const wire = encodeMessage(message(3), 8000);
    expect(decodeMessage(wire)).toEqual(message(3));
  });

  it('sends a pointer (run and seq, no event) when the message does not fit, counting UTF-8 bytes', () => {
    // 3,000 three-byte characters: 9,000 bytes but only 3,000 UTF-16 units.
    const big = message(7, '€'.repeat(3000));
    expect(JSON.stringify(big).length).toBeLessThan(8000);
    const wire = encodeMessage(big, 8000);
    expect(Buffer.byteLength(wire)).toBeLessThan(8000);
    expect(decodeMessage(wire)).toEqual({ source: 'outbox', runId, seq: 7 });
  });

  it('refuses to send a message without source, run or a positive integer seq, or whose event disagrees', () => {
    expect(() => encodeMessage({ ...message(1), source: 'api' as 'outbox' }, 8000)).toThrow(
      /source/,
    );
    expect(() => encodeMessage({ ...message(1), runId: '' }, 8000)).toThrow(/runId/);
    expect(() => encodeMessage({ ...message(1), seq: 0 }, 8000)).toThrow(/seq/);
    expect(() => encodeMessage({ ...message(1), seq: 1.5 }, 8000)).toThrow(/seq/);
    expect(() => encodeMessage({ ...message(1), seq: 2 }, 8000)).toThrow(/same run and seq/);
  });

  it('ignores received payloads that are not bus messages', () => {
    for (const payload of [
      '',
      'not json',
      'null',
      '42',
      '{}',
      '{"source":"outbox","runId":"r","seq":0}',
      '{"source":"other","runId":"r","seq":1}',
    ]) {
      expect(decodeMessage(payload)).toBeUndefined();
    }
  });
});
