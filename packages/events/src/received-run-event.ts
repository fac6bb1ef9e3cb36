import { type RunEvent, RUN_EVENT_TYPES, RunEventSchema } from './catalogue.js';
import { RunEventEnvelopeSchema } from './envelope.js';
import { EventParseError, describeIssues } from './parse.js';

// Declared, never defined: it exists only to give UnknownRunEventType a type no string has (the
// leading underscore tells the linter a value nobody reads is meant).
declare const _unknownRunEventType: unique symbol;

/**
 * The `type` of an event that is not in this version of the catalogue. At run time it is the
 * type's name, a string like any other. The compiler sees an opaque unit type instead of `string`
 * because TypeScript cannot narrow a union one of whose members has `type: string`: with it,
 * `event.type === 'run.failed'` would leave `data` untyped and `event.type === 'nope'` would compile.
 * Read it as text with `String(event.type)`.
 */
export type UnknownRunEventType = typeof _unknownRunEventType;

/**
 * An event of a type this version of the catalogue does not know (a newer producer's): its
 * envelope is checked, its `data` is any JSON object.
 */
export interface UnknownRunEvent {
  runId: string;
  seq: number;
  type: UnknownRunEventType;
  at: string;
  data: Record<string, unknown>;
}

/**
 * What a consumer receives from a producer that may be newer than itself: a catalogue event, or
 * one of a type added since. Narrowing on `type` gives each catalogue event its typed `data`; what
 * is left after the catalogue's types is an `UnknownRunEvent`.
 */
export type ReceivedRunEvent = RunEvent | UnknownRunEvent;

const knownTypes: ReadonlySet<string> = new Set(RUN_EVENT_TYPES);

/** Whether an event's type is in this version of the catalogue. */
export function isKnownRunEvent(event: ReceivedRunEvent): event is RunEvent {
  return knownTypes.has(event.type as unknown as string);
}

/**
 * Parses what a producer sent: an event of a catalogue type must match that type's schema; an
 * event of any other type passes on its envelope alone, so a newer producer never breaks an older
 * consumer. Throws EventParseError when the value is neither.
 */
export function parseReceivedRunEvent(value: unknown): ReceivedRunEvent {
  const type = (value as { type?: unknown } | null)?.type;
  const known = typeof type === 'string' && knownTypes.has(type);
  const result = (known ? RunEventSchema : RunEventEnvelopeSchema).safeParse(value);
  if (!result.success) {
    throw new EventParseError(
      'INVALID_EVENT',
      describeIssues(result.error.issues),
      result.error.issues,
    );
  }
  // An envelope whose type is not in the catalogue: the opaque type is how it is told apart.
  return result.data as ReceivedRunEvent;
}
