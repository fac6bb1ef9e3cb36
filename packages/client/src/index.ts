export {
  createRunstreamClient,
  type CallOptions,
  type CreateRunResult,
  type Graphs,
  type RunStreamOptions,
  type Runs,
  type RunstreamClient,
  type RunstreamClientOptions,
} from './client.js';
export type { RetryOptions } from './backoff.js';
export {
  RunstreamError,
  type ApiErrorCode,
  type ClientErrorCode,
  type RunstreamErrorCode,
} from './errors.js';
export {
  createEventSequencer,
  type EventSequencer,
  type EventSequencerOptions,
  type SequencerVerdict,
} from './event-sequencer.js';
export type { ReconnectOptions, RunEventsOptions } from './run-events.js';
export type { RunResult } from './wait-for-run.js';
export {
  API_ERROR_CODES,
  GraphListSchema,
  GraphSchema,
  RUN_STATUSES,
  RunPageSchema,
  RunSchema,
  RunStatusSchema,
  isTerminalStatus,
  type CreateRunRequest,
  type Graph,
  type GraphList,
  type ListRunsQuery,
  type Run,
  type RunPage,
  type RunStatus,
} from '@runstream/contract';
export {
  isKnownRunEvent,
  type ReceivedRunEvent,
  type RunError,
  type RunEvent,
  type RunEventType,
  type UnknownRunEvent,
} from '@runstream/events';
