/** Codes the api answers with, besides those of the domain errors it passes through. */
export type ApiErrorCode =
  | 'INVALID_REQUEST'
  | 'INVALID_JSON'
  | 'IDEMPOTENCY_KEY_CONFLICT'
  | 'UNAUTHORIZED'
  | 'NOT_FOUND'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'RATE_LIMITED'
  | 'TOO_MANY_STREAMS'
  | 'BAD_REQUEST'
  | 'HEADERS_TOO_LARGE'
  | 'REQUEST_TIMEOUT'
  | 'INTERNAL'
  | 'UNAVAILABLE';

/** An error with its HTTP status, raised by the api itself. */
export class ApiError extends Error {
  override readonly name = 'ApiError';

  constructor(
    readonly code: ApiErrorCode,
    readonly statusCode: number,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

/** The one shape of every error answer. */
export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

/** Status of each domain error code that reaches the api (persistence, orchestrator, stream). */
export const DOMAIN_STATUS: Readonly<Record<string, number>> = {
  RUN_NOT_FOUND: 404,
  RUN_TERMINAL: 409,
  INVALID_CURSOR: 400,
  UNKNOWN_GRAPH: 400,
  INVALID_INPUT: 400,
  INVALID_START_POINT: 400,
  QUOTA_EXCEEDED: 429,
};
