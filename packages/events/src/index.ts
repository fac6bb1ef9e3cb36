export { RunEventEnvelopeSchema, type RunEventEnvelope } from './envelope.js';
export {
  TERMINAL_EVENT_TYPES,
  TERMINAL_STATUS,
  isTerminalStatus,
  isTerminalType,
  type RunStatus,
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
