import { describe, expect, it } from 'vitest';

import {
  EVENT_SCHEMA_VERSION,
  EventParseError,
  RUN_EVENT_TYPES,
  TERMINAL_EVENT_TYPES,
  deserializeRunEvent,
  parseRunEvent,
  parseRunEventBody,
  runQueuedEvent,
  safeParseRunEvent,
  serializeRunEvent,
  type RunEvent,
} from './index.js';

const envelope = {
  runId: '0190f0f0-0000-7000-8000-000000000000',
  seq: 3,
  at: '2026-11-26T10:00:00.000Z',
};

describe('the event catalogue', () => {
  it('parses each kind of event and narrows it on type', () => {
    const event = parseRunEvent({
      ...envelope,
      type: 'text.delta',
      data: { node: 'answer', text: 'Hel' },
    });
    expect(event.type).toBe('text.delta');
    if (event.type === 'text.delta') expect(event.data.text).toBe('Hel');
    const failed = parseRunEvent({
      ...envelope,
      type: 'run.failed',
      data: { error: { code: 'WORKER_LOST', message: 'gone' } },
    });
    expect(failed).toMatchObject({ data: { error: { code: 'WORKER_LOST' } } });
    expect(parseRunEvent({ ...envelope, type: 'run.cancelled', data: {} }).type).toBe(
      'run.cancelled',
    );
  });

  it('refuses an unknown type, a missing field and a bad envelope, naming the path', () => {
    expect(() => parseRunEvent({ ...envelope, type: 'run.exploded', data: {} })).toThrow(
      EventParseError,
    );
    const missing = (() => {
      try {
        parseRunEvent({ ...envelope, type: 'run.failed', data: { error: { code: 'X' } } });
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    expect(missing).toBeInstanceOf(EventParseError);
    expect((missing as EventParseError).code).toBe('INVALID_EVENT');
    expect((missing as EventParseError).message).toContain('data.error.message');
    expect(
      safeParseRunEvent({ ...envelope, seq: 0, type: 'run.cancelled', data: {} }),
    ).toBeUndefined();
    expect(
      safeParseRunEvent({ ...envelope, at: 'yesterday', type: 'run.cancelled', data: {} }),
    ).toBeUndefined();
  });

  it('round-trips through its wire form', () => {
    const event: RunEvent = {
      ...envelope,
      type: 'tool.call',
      data: { callId: 'c1', tool: 'search', args: { q: 'x' } },
    };
    const json = serializeRunEvent(event);
    expect(Object.keys(JSON.parse(json) as object)).toEqual(['runId', 'seq', 'type', 'at', 'data']);
    expect(deserializeRunEvent(json)).toEqual(event);
    expect(() => deserializeRunEvent('{')).toThrow(
      expect.objectContaining({ code: 'INVALID_JSON' }) as Error,
    );
  });

  it('builds the first event of every run, and knows every terminal type', () => {
    expect(runQueuedEvent('demo')).toEqual({ type: 'run.queued', data: { graph: 'demo' } });
    expect(parseRunEventBody(runQueuedEvent('demo'))).toEqual(runQueuedEvent('demo'));
    for (const type of TERMINAL_EVENT_TYPES) expect(RUN_EVENT_TYPES).toContain(type);
    expect(RUN_EVENT_TYPES[0]).toBe('run.queued');
    expect(EVENT_SCHEMA_VERSION).toBe(1);
  });
});
