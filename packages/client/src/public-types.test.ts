import { API_ERROR_CODES as CONTRACT_CODES } from '@runstream/contract';
import { describe, expect, expectTypeOf, it } from 'vitest';

import {
  API_ERROR_CODES,
  type ApiErrorCode,
  type ReceivedRunEvent,
  type RunError,
  type RunResult,
  type RunstreamError,
  type RunstreamErrorCode,
  type UnknownRunEvent,
  createRunstreamClient,
} from './index.js';

// What a consumer's compiler sees. These checks run in `pnpm typecheck`; the `it`s only make the
// file a test file.

describe('the types a consumer of the client sees', () => {
  it('events narrow on type to typed data, and a type in no catalogue does not compile', () => {
    const client = createRunstreamClient();
    const consume = async (): Promise<void> => {
      for await (const event of client.runs.events('r')) {
        expectTypeOf(event).toEqualTypeOf<ReceivedRunEvent>();
        if (event.type === 'run.failed')
          expectTypeOf(event.data.error.code).toEqualTypeOf<string>();
        if (event.type === 'text.delta') expectTypeOf(event.data.text).toEqualTypeOf<string>();
        // @ts-expect-error TS2367: 'nope' is no event type
        if (event.type === 'nope') return;
      }
      for await (const event of client.runs.stream('demo', { prompt: 'hi' })) {
        expectTypeOf(event.runId).toEqualTypeOf<string>();
      }
    };
    expect(typeof consume).toBe('function');
  });

  it('an event of a type added later is an UnknownRunEvent: an envelope with untyped data', () => {
    const leftOver = (event: ReceivedRunEvent): void => {
      switch (event.type) {
        case 'run.queued':
        case 'run.started':
        case 'node.started':
        case 'node.completed':
        case 'text.delta':
        case 'tool.call':
        case 'tool.result':
        case 'synthetic.tick':
        case 'run.completed':
        case 'run.failed':
        case 'run.cancelled':
          return;
        default:
          expectTypeOf(event).toEqualTypeOf<UnknownRunEvent>();
          expectTypeOf(event.data).toEqualTypeOf<Record<string, unknown>>();
          expectTypeOf(event.seq).toEqualTypeOf<number>();
      }
    };
    expect(typeof leftOver).toBe('function');
  });

  it('error codes are the closed list the api sends, plus the client’s own', () => {
    const check = (error: RunstreamError): void => {
      expectTypeOf(error.code).toEqualTypeOf<RunstreamErrorCode>();
      if (error.code === 'UNKNOWN_GRAPH' || error.code === 'NETWORK_ERROR') return;
      // @ts-expect-error TS2367: the api never sends VALIDATION_ERROR
      if (error.code === 'VALIDATION_ERROR') return;
      // @ts-expect-error TS2367: nor INTERNAL_ERROR (it sends INTERNAL)
      if (error.code === 'INTERNAL_ERROR') return;
    };
    expect(typeof check).toBe('function');
    expectTypeOf<(typeof API_ERROR_CODES)[number]>().toEqualTypeOf<ApiErrorCode>();
    expect(API_ERROR_CODES).toBe(CONTRACT_CODES);
  });

  it('wait resolves with how the run ended, narrowed by status', () => {
    const use = (result: RunResult): void => {
      if (result.status === 'failed') expectTypeOf(result.error).toEqualTypeOf<RunError>();
      if (result.status === 'succeeded') expectTypeOf(result.output).toEqualTypeOf<unknown>();
      if (result.status === 'cancelled')
        expectTypeOf(result.reason).toEqualTypeOf<string | undefined>();
      // @ts-expect-error TS2367: a run that has ended is never running
      if (result.status === 'running') return;
    };
    expect(typeof use).toBe('function');
  });
});
