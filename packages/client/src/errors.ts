import { API_ERROR_CODES, type ApiErrorCode } from '@runstream/contract';

import { parseRetryAfter } from './backoff.js';

export type { ApiErrorCode } from '@runstream/contract';

/** Codes the client raises itself, when no api answer carries one. */
export type ClientErrorCode =
  /** The api could not be reached, or the connection broke before an answer. */
  | 'NETWORK_ERROR'
  /** The api answered with something that is not the contract's shape. */
  | 'INVALID_RESPONSE'
  /**
   * The api answered with an error code this version of the client does not know (a newer api):
   * `status` is the answer's, `details` holds `{ code, details }` as the api sent them.
   */
  | 'UNKNOWN_ERROR_CODE'
  /** A streamed event failed validation against @runstream/events. */
  | 'INVALID_EVENT'
  /** The event stream could not be resumed within the reconnect budget. */
  | 'RECONNECT_EXHAUSTED';

/** Every code a RunstreamError can have: the api's, and the client's own. */
export type RunstreamErrorCode = ApiErrorCode | ClientErrorCode;

const apiCodes: ReadonlySet<string> = new Set(API_ERROR_CODES);

/**
 * A brand shared by every copy of this class: an application can load the client twice (its ES
 * module and its CommonJS build, or two versions), and `instanceof` must still recognise the
 * errors of either.
 */
const brand: unique symbol = Symbol.for('@runstream/client:RunstreamError');

/** Every failure of the client: `code` says what went wrong, `status` the HTTP status if any. */
export class RunstreamError extends Error {
  override readonly name = 'RunstreamError';
  readonly [brand] = true;

  static override [Symbol.hasInstance](value: unknown): boolean {
    // Only for this class itself: a subclass keeps the ordinary prototype check.
    if (this !== RunstreamError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return typeof value === 'object' && value !== null && brand in value;
  }

  constructor(
    readonly code: RunstreamErrorCode,
    message: string,
    readonly status?: number,
    readonly details?: unknown,
    options?: {
      cause?: unknown;
      /** The answer's Retry-After, in milliseconds. */
      retryAfterMs?: number | undefined;
    },
  ) {
    super(message, options);
    this.retryAfterMs = options?.retryAfterMs;
  }

  /** How long the api asked the client to wait before trying again (`Retry-After`), if it did. */
  readonly retryAfterMs: number | undefined;

  /** Whether the same request may succeed later: no answer, 408, 429, 500, 502, 503, 504. */
  get retryable(): boolean {
    if (this.code === 'NETWORK_ERROR') return true;
    return this.status !== undefined && RETRYABLE_STATUSES.has(this.status);
  }
}

const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([408, 429, 500, 502, 503, 504]);

/** Builds the typed error from a non-2xx response, keeping the api's code and details. */
export async function errorFromResponse(response: Response): Promise<RunstreamError> {
  const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
  const text = await response.text().catch(() => '');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const error = (
    body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined
  )?.error;
  if (error && typeof error.code === 'string') {
    const message = typeof error.message === 'string' ? error.message : `HTTP ${response.status}`;
    if (apiCodes.has(error.code)) {
      return new RunstreamError(
        error.code as ApiErrorCode,
        message,
        response.status,
        error.details,
        { retryAfterMs },
      );
    }
    return new RunstreamError(
      'UNKNOWN_ERROR_CODE',
      `${error.code}: ${message}`,
      response.status,
      { code: error.code, details: error.details },
      { retryAfterMs },
    );
  }
  return new RunstreamError(
    'INVALID_RESPONSE',
    `HTTP ${response.status} ${response.statusText}`.trim(),
    response.status,
    text.slice(0, 200) || undefined,
    { retryAfterMs },
  );
}
