import { describe, expect, expectTypeOf, it } from 'vitest';

import {
  EventParseError,
  type ReceivedRunEvent,
  type RunError,
  type RunEvent,
  type UnknownRunEvent,
  isKnownRunEvent,
  parseReceivedRunEvent,
} from './index.js';

const envelope = {
  runId: '0190f0f0-0000-7000-8000-000000000000',
  seq: 4,
  at: '2026-11-26T10:00:00.000Z',
};

describe('events received from a producer that may be newer', () => {
  it('checks a catalogue type against its schema', () => {
    const event = parseReceivedRunEvent({
      ...envelope,
      type: 'run.failed',
      data: { error: { code: 'WORKER_LOST', message: 'gone' } },
    });
    expect(isKnownRunEvent(event)).toBe(true);
    if (event.type === 'run.failed') expect(event.data.error.code).toBe('WORKER_LOST');
    expect(() =>
      parseReceivedRunEvent({ ...envelope, type: 'run.failed', data: { error: 'gone' } }),
    ).toThrow(EventParseError);
  });

  it('passes a type added since on its envelope alone, and still checks the envelope', () => {
    const event = parseReceivedRunEvent({
      ...envelope,
      type: 'run.paused',
      data: { until: 'tomorrow' },
    });
    expect(isKnownRunEvent(event)).toBe(false);
    expect(String(event.type)).toBe('run.paused');
    expect(event).toEqual({ ...envelope, type: 'run.paused', data: { until: 'tomorrow' } });
    expect(() =>
      parseReceivedRunEvent({ ...envelope, seq: 0, type: 'run.paused', data: {} }),
    ).toThrow(expect.objectContaining({ code: 'INVALID_EVENT' }) as Error);
    expect(() => parseReceivedRunEvent({ ...envelope, type: 'run.paused', data: 'x' })).toThrow(
      EventParseError,
    );
  });

  it('narrows on type to the typed data, with an unknown type left over (type level)', () => {
    const event = {} as ReceivedRunEvent;
    if (event.type === 'run.failed') expectTypeOf(event.data.error).toEqualTypeOf<RunError>();
    switch (event.type) {
      case 'text.delta':
        expectTypeOf(event.data.text).toEqualTypeOf<string>();
        break;
      case 'run.queued':
      case 'run.started':
      case 'node.started':
      case 'node.completed':
      case 'tool.call':
      case 'tool.result':
      case 'synthetic.tick':
      case 'run.completed':
      case 'run.failed':
      case 'run.cancelled':
        expectTypeOf(event).toMatchTypeOf<RunEvent>();
        break;
      default:
        expectTypeOf(event).toEqualTypeOf<UnknownRunEvent>();
        expectTypeOf(event.data).toEqualTypeOf<Record<string, unknown>>();
    }
    // A type that is in no catalogue is a compile error, not a comparison that is always false.
    // @ts-expect-error TS2367: no overlap between the event types and 'nope'
    expect(event.type === 'nope').toBe(false);
    if (isKnownRunEvent(event)) expectTypeOf(event).toEqualTypeOf<RunEvent>();
  });
});
