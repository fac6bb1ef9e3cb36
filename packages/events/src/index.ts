export { RunEventEnvelopeSchema, type RunEventEnvelope } from './envelope.js';
export {
  TERMINAL_EVENT_TYPES,
  TERMINAL_STATUS,
  isTerminalStatus,
  isTerminalType,
  type RunStatus,
  type TerminalEventType,
} from './terminal.js';
