export {
  API_ERRORS,
  API_ERROR_CODES,
  ApiErrorCodeSchema,
  DOMAIN_ERROR_CODES,
  ErrorBodySchema,
  HTTP_ERROR_CODES,
  statusOf,
  type ApiErrorCode,
  type ApiErrorStatus,
  type DomainErrorCode,
  type ErrorBody,
  type HttpErrorCode,
} from './api-errors.js';
export { EventPageSchema, EventSchema, type EventPage } from './event-page.js';
export { GraphListSchema, GraphSchema, type Graph, type GraphList } from './graph.js';
export {
  CancelRunRequestSchema,
  CreateRunRequestSchema,
  EventsQuerySchema,
  IdempotencyKeySchema,
  ListRunsQuerySchema,
  type CreateRunRequest,
  type ListRunsQuery,
} from './requests.js';
export { RunPageSchema, RunSchema, type Run, type RunPage } from './run.js';
export {
  EVENT_STREAM_MEDIA_TYPE,
  EventFrameSchema,
  ReconnectDataSchema,
  ReconnectFrameSchema,
  StreamFrameSchema,
} from './stream-frames.js';
export { RUN_STATUSES, RunStatusSchema, isTerminalStatus, type RunStatus } from '@runstream/events';
