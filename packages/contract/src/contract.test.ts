import { describe, expect, it } from 'vitest';

import {
  API_ERRORS,
  API_ERROR_CODES,
  CreateRunRequestSchema,
  DOMAIN_ERROR_CODES,
  ErrorBodySchema,
  EventFrameSchema,
  EventPageSchema,
  GraphListSchema,
  HTTP_ERROR_CODES,
  ListRunsQuerySchema,
  ReconnectFrameSchema,
  RunSchema,
  StreamFrameSchema,
  statusOf,
} from './index.js';

const run = {
  id: '0190f0f0-0000-7000-8000-000000000001',
  graph: 'demo',
  input: { prompt: 'hi' },
  status: 'failed',
  lastSeq: 7,
  createdAt: '2026-12-01T10:00:00.000Z',
  startedAt: '2026-12-01T10:00:00.100Z',
  finishedAt: '2026-12-01T10:00:01.000Z',
  error: { code: 'WORKER_LOST', message: 'lease expired' },
};

describe('error codes', () => {
  it('are the HTTP layer’s and the domain’s, each once, each with a 4xx or 5xx status', () => {
    expect(new Set(API_ERROR_CODES).size).toBe(API_ERROR_CODES.length);
    expect(API_ERROR_CODES).toEqual([...HTTP_ERROR_CODES, ...DOMAIN_ERROR_CODES]);
    expect(Object.keys(API_ERRORS).sort()).toEqual([...API_ERROR_CODES].sort());
    for (const code of API_ERROR_CODES) {
      expect(statusOf(code), code).toBeGreaterThanOrEqual(400);
      expect(statusOf(code), code).toBeLessThan(600);
      expect(API_ERRORS[code].meaning, code).not.toBe('');
    }
  });

  it.each([
    ['RUN_NOT_FOUND', 404],
    ['RUN_TERMINAL', 409],
    ['UNKNOWN_GRAPH', 400],
    ['QUOTA_EXCEEDED', 429],
    ['TOO_MANY_STREAMS', 429],
    ['HEADERS_TOO_LARGE', 431],
    ['UNAVAILABLE', 503],
  ] as const)('%s is sent with %d', (code, status) => expect(statusOf(code)).toBe(status));

  it('an error body carries one of them, and only one of them', () => {
    expect(
      ErrorBodySchema.safeParse({ error: { code: 'RUN_TERMINAL', message: 'ended' } }).success,
    ).toBe(true);
    expect(
      ErrorBodySchema.safeParse({ error: { code: 'VALIDATION_ERROR', message: 'x' } }).success,
    ).toBe(false);
  });
});

describe('the Run', () => {
  it('parses a run as the api answers it', () => {
    expect(RunSchema.parse(run)).toEqual(run);
  });

  it.each([
    ['a status no run has', { status: 'completed' }],
    ['an id that is no UUID', { id: 'run-1' }],
    ['a time without its zone', { createdAt: '2026-12-01 10:00' }],
    ['an error without a message', { error: { code: 'X' } }],
  ])('refuses %s', (_why, change) => {
    expect(RunSchema.safeParse({ ...run, ...change }).success).toBe(false);
  });
});

describe('the graph list', () => {
  const graph = {
    name: 'echo',
    description: null,
    inputSchema: { type: 'object', properties: { text: { type: 'string' } } },
    version: '3f2a9c0d41e7b8a6c5d4e3f2',
    live: true,
    lastSeenAt: '2026-12-03T10:00:00.000Z',
  };

  it('parses a list as the api answers it, dropping fields a newer api adds', () => {
    expect(GraphListSchema.parse({ graphs: [{ ...graph, owner: 'team-a' }] })).toEqual({
      graphs: [graph],
    });
  });

  it.each([
    ['a graph without its input schema', { inputSchema: undefined }],
    ['a last sighting without its zone', { lastSeenAt: '2026-12-03 10:00' }],
  ])('refuses %s', (_why, change) => {
    expect(GraphListSchema.safeParse({ graphs: [{ ...graph, ...change }] }).success).toBe(false);
  });
});

describe('requests', () => {
  it('a create refuses unknown fields, naming them', () => {
    const result = CreateRunRequestSchema.safeParse({ graph: 'demo', inptu: {} });
    expect(result.success).toBe(false);
    expect(JSON.stringify(result.error?.issues)).toContain('inptu');
  });

  it('a list query reads its limit from the query string, 50 when absent', () => {
    expect(ListRunsQuerySchema.parse({ limit: '7' })).toEqual({ limit: 7 });
    expect(ListRunsQuerySchema.parse({})).toEqual({ limit: 50 });
    expect(ListRunsQuerySchema.safeParse({ limit: '201' }).success).toBe(false);
  });
});

describe('events and frames', () => {
  it('an event page holds canonical events', () => {
    const page = {
      events: [{ runId: run.id, seq: 1, type: 'run.queued', at: run.createdAt, data: {} }],
      nextSeq: 2,
      terminal: false,
    };
    expect(EventPageSchema.parse(page)).toEqual(page);
  });

  it('an event frame has the seq as its id; a reconnect frame has no id', () => {
    const data = JSON.stringify({ runId: run.id, seq: 3 });
    expect(EventFrameSchema.safeParse({ id: '3', event: 'text.delta', data }).success).toBe(true);
    expect(EventFrameSchema.safeParse({ id: '0', event: 'text.delta', data }).success).toBe(false);
    const reconnect = { event: 'reconnect', data: '{"lastSeq":3}' };
    expect(ReconnectFrameSchema.parse(reconnect)).toEqual(reconnect);
    expect(StreamFrameSchema.safeParse({ event: 'text.delta', data }).success).toBe(false);
  });
});
