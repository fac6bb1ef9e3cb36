import { z } from 'zod';

/** Codes the HTTP layer raises itself, about the request or the server, whatever the route. */
export const HTTP_ERROR_CODES = [
  'INVALID_REQUEST',
  'INVALID_JSON',
  'IDEMPOTENCY_KEY_CONFLICT',
  'UNAUTHORIZED',
  'NOT_FOUND',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'RATE_LIMITED',
  'TOO_MANY_STREAMS',
  'BAD_REQUEST',
  'HEADERS_TOO_LARGE',
  'REQUEST_TIMEOUT',
  'INTERNAL',
  'UNAVAILABLE',
] as const;

/** Codes of the domain's own errors (runs, graphs, stream start points), which the api passes on. */
export const DOMAIN_ERROR_CODES = [
  'RUN_NOT_FOUND',
  'RUN_TERMINAL',
  'INVALID_CURSOR',
  'UNKNOWN_GRAPH',
  'INVALID_INPUT',
  'INVALID_START_POINT',
  'QUOTA_EXCEEDED',
] as const;

/** Every code the api sends in an error body, and no other. */
export const API_ERROR_CODES = [...HTTP_ERROR_CODES, ...DOMAIN_ERROR_CODES] as const;

export type HttpErrorCode = (typeof HTTP_ERROR_CODES)[number];
export type DomainErrorCode = (typeof DOMAIN_ERROR_CODES)[number];
/** A code the api sends in `{"error": {"code"}}`. */
export type ApiErrorCode = (typeof API_ERROR_CODES)[number];

/**
 * What each code means and the one status it is sent with. A code added to the lists above without
 * a line here, or a line for a code that is in no list, does not compile.
 */
export const API_ERRORS = {
  INVALID_REQUEST: {
    status: 400,
    meaning: 'a field, header or query parameter does not fit its schema (details.issues name it)',
  },
  INVALID_JSON: { status: 400, meaning: 'the body is not JSON' },
  IDEMPOTENCY_KEY_CONFLICT: {
    status: 400,
    meaning: 'the Idempotency-Key header and body.idempotencyKey differ',
  },
  BAD_REQUEST: { status: 400, meaning: 'the HTTP request itself is malformed' },
  INVALID_CURSOR: { status: 400, meaning: 'the list cursor is not one this api handed out' },
  INVALID_START_POINT: {
    status: 400,
    meaning: 'Last-Event-ID or fromSeq is not a whole number from 0 to 2^31-1',
  },
  UNKNOWN_GRAPH: { status: 400, meaning: 'no worker registered a graph of this name' },
  INVALID_INPUT: { status: 400, meaning: "the input does not fit the graph's schema" },
  UNAUTHORIZED: { status: 401, meaning: 'the API key is missing or wrong' },
  NOT_FOUND: { status: 404, meaning: 'no such route' },
  RUN_NOT_FOUND: {
    status: 404,
    meaning: "no such run for this tenant (also a malformed id, or another tenant's run)",
  },
  REQUEST_TIMEOUT: {
    status: 408,
    meaning: 'the request head (10 s) or the whole request (30 s) did not arrive in time',
  },
  RUN_TERMINAL: { status: 409, meaning: 'the run has ended' },
  PAYLOAD_TOO_LARGE: { status: 413, meaning: 'the body is larger than 1 MiB' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, meaning: 'the body is not application/json' },
  RATE_LIMITED: {
    status: 429,
    meaning: 'too many requests, or failed authentications, from this key or address',
  },
  QUOTA_EXCEEDED: { status: 429, meaning: 'the tenant has as many queued runs as it may have' },
  TOO_MANY_STREAMS: { status: 429, meaning: 'the tenant has as many streams open as it may have' },
  HEADERS_TOO_LARGE: { status: 431, meaning: 'the request head is too large' },
  INTERNAL: { status: 500, meaning: 'the server failed; the message never says how' },
  UNAVAILABLE: { status: 503, meaning: 'the server is shutting down: retry, elsewhere' },
} as const satisfies Record<ApiErrorCode, { status: number; meaning: string }>;

/** The HTTP status an error code is sent with. */
export type ApiErrorStatus = (typeof API_ERRORS)[ApiErrorCode]['status'];

/** The status of each code: the one table the api answers by and the api's documentation lists. */
export function statusOf(code: ApiErrorCode): ApiErrorStatus {
  return API_ERRORS[code].status;
}

export const ApiErrorCodeSchema = z.enum(API_ERROR_CODES).meta({
  id: 'ErrorCode',
  description: 'Every code the api sends; each has one status (see the responses of each route)',
});

/** The one shape of every error answer, from every route and from before routing. */
export const ErrorBodySchema = z
  .object({
    error: z.object({
      code: ApiErrorCodeSchema,
      /** For people; never carries internals (a 5xx says only what failed, not how). */
      message: z.string(),
      details: z.unknown().optional().describe('Depends on the code: the field at fault, issues'),
    }),
  })
  .meta({ id: 'Error' });

export type ErrorBody = z.infer<typeof ErrorBodySchema>;
