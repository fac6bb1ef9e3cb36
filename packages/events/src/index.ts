export { RunEventEnvelopeSchema, type RunEventEnvelope } from './envelope.js';
export { RUN_STATUSES, RunStatusSchema, isTerminalStatus, type RunStatus } from './run-status.js';
export {
  TERMINAL_EVENT_TYPES,
  TERMINAL_STATUS,
  isTerminalType,
  type TerminalEventType,
} from './terminal.js';
export {
  EVENT_SCHEMA_VERSION,
  RUN_EVENT_DATA_SCHEMAS,
  RUN_EVENT_TYPES,
  RunErrorSchema,
  RunEventBodySchema,
  RunEventSchema,
  runQueuedEvent,
  type RunError,
  type RunEvent,
  type RunEventBody,
  type RunEventData,
  type RunEventOf,
  type RunEventType,
} from './catalogue.js';
export {
  EventParseError,
  deserializeRunEvent,
  parseRunEvent,
  parseRunEventBody,
  safeParseRunEvent,
  serializeRunEvent,
  type EventParseErrorCode,
} from './parse.js';
export {
  isKnownRunEvent,
  parseReceivedRunEvent,
  type ReceivedRunEvent,
  type UnknownRunEvent,
  type UnknownRunEventType,
} from './received-run-event.js';
