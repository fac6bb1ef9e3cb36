export {
  createRunstreamClient,
  type CreateRunInput,
  type CreateRunResult,
  type ListRunsQuery,
  type RunstreamClient,
  type RunstreamClientOptions,
} from './client.js';
export { RunstreamError, type ApiErrorCode, type ClientErrorCode } from './errors.js';
export {
  createEventSequencer,
  type EventSequencer,
  type EventSequencerOptions,
  type SequencerVerdict,
} from './event-sequencer.js';
export { GraphListSchema, GraphSchema, type Graph } from './graph.js';
export {
  RunPageSchema,
  RunSchema,
  RunStatusSchema,
  isTerminalStatus,
  type Run,
  type RunPage,
  type RunStatus,
} from './run.js';
export type { ReconnectOptions, RunEventsOptions } from './run-events.js';
export type { RunEventEnvelope } from '@runstream/events';
