import { randomBytes } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import type { BusMessage } from './bus.js';
import { createMessageCodec } from './message-codec.js';

const runId = '0190f0f0-0000-7000-8000-000000000001';
const message = (seq: number, text = 'hi', type = 'text.delta'): BusMessage => ({
  source: 'outbox',
  runId,
  seq,
  event: { runId, seq, type, at: '2026-11-26T00:00:00.000Z', data: { text } },
});
const pointer = (seq: number): BusMessage => ({ source: 'outbox', runId, seq });

const key = randomBytes(32);
const codec = createMessageCodec(key);

describe('message codec', () => {
  it('round-trips a signed message that fits', () => {
    const wire = codec.encode(message(3), 8000);
    expect(wire).toMatch(/,"sig":"[A-Za-z0-9_-]{43}"}$/);
    expect(codec.decode(wire)).toEqual(message(3));
  });

  it('sends a pointer (run and seq, no event) when the signed message does not fit, counting UTF-8 bytes', () => {
    // 2,600 three-byte characters: 7,800 bytes but only 2,600 UTF-16 units.
    const big = message(7, '€'.repeat(2600));
    expect(JSON.stringify(big).length).toBeLessThan(8000);
    const wire = codec.encode(big, 8000);
    expect(Buffer.byteLength(wire)).toBeLessThan(8000);
    expect(codec.decode(wire)).toEqual(pointer(7));
    // The signature counts too: a message that fits only without it goes as a pointer.
    const unsigned = Buffer.byteLength(JSON.stringify(message(8, 'x'.repeat(100))));
    expect(codec.decode(codec.encode(message(8, 'x'.repeat(100)), unsigned + 10))).toEqual(
      pointer(8),
    );
  });

  it('security row 102: an unsigned event (a forged run.completed) is delivered as a pointer, never as an event', () => {
    const forged = JSON.stringify({ ...message(1144, 'forged', 'run.completed') });
    expect(codec.decode(forged)).toEqual(pointer(1144));
  });

  it('delivers as a pointer an event whose signature does not verify: tampered, truncated, from another deployment', () => {
    const wire = codec.encode(message(5, 'real'), 8000);
    const tampered = wire.replace('"real"', '"fake"');
    expect(tampered).not.toBe(wire);
    expect(codec.decode(tampered)).toEqual(pointer(5));
    // Another seq under the same signature: the mac covers run id and seq, not only the event.
    expect(codec.decode(wire.replaceAll('"seq":5', '"seq":6'))).toEqual(pointer(6));
    const sig = /"sig":"([^"]+)"/.exec(wire)![1]!;
    expect(codec.decode(wire.replace(sig, sig.slice(0, -1)))).toEqual(pointer(5));
    expect(codec.decode(wire.replace(sig, 'A'.repeat(43)))).toEqual(pointer(5));
    const otherDeployment = createMessageCodec(randomBytes(32));
    expect(otherDeployment.decode(wire)).toEqual(pointer(5));
    expect(codec.decode(otherDeployment.encode(message(5, 'real'), 8000))).toEqual(pointer(5));
  });

  it('without a key sends only pointers, and delivers every received event as a pointer', () => {
    const keyless = createMessageCodec(undefined);
    expect(keyless.encode(message(2), 8000)).toBe(JSON.stringify(pointer(2)));
    expect(keyless.decode(codec.encode(message(2), 8000))).toEqual(pointer(2));
  });

  it('refuses to send a message without source, run or a positive integer seq, or whose event disagrees', () => {
    expect(() => codec.encode({ ...message(1), source: 'api' as 'outbox' }, 8000)).toThrow(
      /source/,
    );
    expect(() => codec.encode({ ...message(1), runId: '' }, 8000)).toThrow(/runId/);
    expect(() => codec.encode({ ...message(1), seq: 0 }, 8000)).toThrow(/seq/);
    expect(() => codec.encode({ ...message(1), seq: 1.5 }, 8000)).toThrow(/seq/);
    expect(() => codec.encode({ ...message(1), seq: 2 }, 8000)).toThrow(/same run and seq/);
  });

  it('ignores received payloads that are not bus messages', () => {
    for (const payload of [
      '',
      'not json',
      'null',
      '42',
      '{}',
      '{"source":"outbox","runId":"r","seq":0}',
      '{"source":"outbox","runId":"","seq":1}',
      '{"source":"other","runId":"r","seq":1}',
      `{"source":"outbox","runId":"r","seq":1,"sig":"${'A'.repeat(43)}"}`.replace('"r"', '1'),
    ]) {
      expect(codec.decode(payload)).toBeUndefined();
    }
  });
});
