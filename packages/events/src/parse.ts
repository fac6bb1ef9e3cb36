import type { z } from 'zod';

import {
  type RunEvent,
  type RunEventBody,
  RunEventBodySchema,
  RunEventSchema,
} from './catalogue.js';

/** Why a value is not a canonical event. */
export type EventParseErrorCode = 'INVALID_JSON' | 'INVALID_EVENT';

/** A value that is not a canonical event; `issues` hold zod's findings with their paths. */
export class EventParseError extends Error {
  override readonly name = 'EventParseError';

  constructor(
    readonly code: EventParseErrorCode,
    message: string,
    readonly issues: readonly z.core.$ZodIssue[] = [],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** zod's first finding, with its path, as a one-line message. */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  const first = issues[0];
  if (!first) return 'not a run event';
  const path = first.path.length > 0 ? first.path.join('.') : '(root)';
  return `not a run event: ${path}: ${first.message}`;
}

/** Parses a value into a canonical event, or throws EventParseError (unknown types included). */
export function parseRunEvent(value: unknown): RunEvent {
  const result = RunEventSchema.safeParse(value);
  if (!result.success)
    throw new EventParseError(
      'INVALID_EVENT',
      describeIssues(result.error.issues),
      result.error.issues,
    );
  return result.data;
}

/** Like parseRunEvent, without throwing: undefined when the value is not a canonical event. */
export function safeParseRunEvent(value: unknown): RunEvent | undefined {
  const result = RunEventSchema.safeParse(value);
  return result.success ? result.data : undefined;
}

/** Parses an event body (`type` and `data`), as producers hand them to the persistence layer. */
export function parseRunEventBody(value: unknown): RunEventBody {
  const result = RunEventBodySchema.safeParse(value);
  if (!result.success)
    throw new EventParseError(
      'INVALID_EVENT',
      describeIssues(result.error.issues),
      result.error.issues,
    );
  return result.data;
}

/** The wire form of an event: its canonical JSON, fields in envelope order. */
export function serializeRunEvent(event: RunEvent): string {
  return JSON.stringify({
    runId: event.runId,
    seq: event.seq,
    type: event.type,
    at: event.at,
    data: event.data,
  });
}

/** Reads the wire form back, checking it against the catalogue. */
export function deserializeRunEvent(json: string): RunEvent {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw new EventParseError('INVALID_JSON', 'not a run event: malformed JSON', [], {
      cause: error,
    });
  }
  return parseRunEvent(value);
}
