/** How the client waits between two attempts of a request, or two connections of a stream. */
export interface RetryOptions {
  /**
   * Retries of a request (create, get, list, cancel) that failed in a way a later attempt may not:
   * no answer, 408, 429, 500, 502, 503 or 504. A create without an idempotency key is given a
   * random one, so that a retry can never create a second run. 0 turns retries off.
   * @default 2
   */
  maxRetries?: number;
  /**
   * The bound of the first wait. Each wait is drawn uniformly between 0 and its bound ("full
   * jitter"), and the bound doubles with each attempt, so clients that failed together do not come
   * back together.
   * @default 250
   */
  initialDelayMs?: number;
  /**
   * The largest bound of a wait.
   * @default 5000
   */
  maxDelayMs?: number;
  /**
   * The longest `Retry-After` (on a 429 or a 503) the client waits for; an answer that asks for
   * longer fails at once with its error, which carries `retryAfterMs`.
   * @default 60000
   */
  maxRetryAfterMs?: number;
}

export type Backoff = Required<RetryOptions>;

export const DEFAULT_BACKOFF: Backoff = {
  maxRetries: 2,
  initialDelayMs: 250,
  maxDelayMs: 5000,
  maxRetryAfterMs: 60_000,
};

/**
 * The wait before attempt `attempt + 1`, after `attempt` failures in a row (1 for the first).
 * A server that said when to come back (`Retry-After`) is taken at its word; otherwise full
 * jitter: uniform in [0, min(maxDelayMs, initialDelayMs * 2^(attempt - 1))].
 * @param random a source in [0, 1), for tests
 */
export function backoffDelay(
  attempt: number,
  backoff: Backoff,
  retryAfterMs?: number,
  random: () => number = Math.random,
): number {
  if (retryAfterMs !== undefined) return retryAfterMs;
  const bound = Math.min(
    backoff.maxDelayMs,
    backoff.initialDelayMs * 2 ** Math.max(0, attempt - 1),
  );
  return Math.floor(random() * bound);
}

/**
 * A `Retry-After` header in milliseconds: delay-seconds or an HTTP date (RFC 9110 10.2.3). Undefined
 * when absent or unreadable; a date in the past is 0.
 */
export function parseRetryAfter(
  value: string | null,
  now: number = Date.now(),
): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // Every HTTP-date form names its day and month: anything else ('1.5', '-1') is no date, however
  // Date.parse would read it.
  if (!/^[A-Za-z]{3}/.test(text)) return undefined;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Waits `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortReason(signal));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortReason(signal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The signal's reason as an Error, which is what callers of an aborted call catch. */
export function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason : new Error('aborted', { cause: reason });
}
