/** Codes the client raises itself, when no api answer carries one. */
export type ClientErrorCode =
  /** The api could not be reached, or the connection broke before an answer. */
  | 'NETWORK_ERROR'
  /** The api answered with something that is not the contract's shape. */
  | 'INVALID_RESPONSE'
  /** A streamed event failed validation against @runstream/events. */
  | 'INVALID_EVENT'
  /** The event stream could not be resumed within the reconnect budget. */
  | 'RECONNECT_EXHAUSTED';

/**
 * Codes the api sends in `{"error": {"code"}}`. The known ones are listed for completion in
 * editors; any other string the api sends is passed through unchanged.
 */
export type ApiErrorCode =
  | 'RUN_NOT_FOUND'
  | 'RUN_TERMINAL'
  /** POST /v1/runs named a graph no run-worker has registered. */
  | 'UNKNOWN_GRAPH'
  /** The input does not fit the graph's input schema; `details` lists the fields at fault. */
  | 'INVALID_INPUT'
  | 'VALIDATION_ERROR'
  | 'UNAUTHORIZED'
  | 'CONFLICT'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'INTERNAL_ERROR'
  | (string & {});

/** Every failure of the client: `code` says what went wrong, `status` the HTTP status if any. */
export class RunstreamError extends Error {
  override readonly name = 'RunstreamError';

  constructor(
    readonly code: ClientErrorCode | ApiErrorCode,
    message: string,
    readonly status?: number,
    readonly details?: unknown,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** Whether retrying the same request later may succeed (network trouble, 5xx, 429). */
  get retryable(): boolean {
    if (this.code === 'NETWORK_ERROR') return true;
    return (
      this.status !== undefined &&
      (this.status >= 500 || this.status === 429 || this.status === 408)
    );
  }
}

/** Builds the typed error from a non-2xx response, keeping the api's code and details. */
export async function errorFromResponse(response: Response): Promise<RunstreamError> {
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
    return new RunstreamError(error.code, message, response.status, error.details);
  }
  return new RunstreamError(
    'INVALID_RESPONSE',
    `HTTP ${response.status} ${response.statusText}`.trim(),
    response.status,
    text.slice(0, 200) || undefined,
  );
}
