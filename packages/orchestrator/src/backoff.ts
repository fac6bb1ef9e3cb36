export interface BackoffOptions {
  /**
   * Delay before the first retry, in milliseconds.
   * @default 100
   */
  baseMs?: number;
  /**
   * Largest delay, in milliseconds.
   * @default 5000
   */
  maxMs?: number;
}

/**
 * The delay before retry number `attempt` (0 for the first): doubling from `baseMs` up to `maxMs`,
 * with "equal jitter" (half fixed, half random), so that the workers and runs that all failed at
 * the same moment do not all come back at the same moment, and none retries at once.
 */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions = {},
  random: () => number = Math.random,
): number {
  const baseMs = options.baseMs ?? 100;
  const maxMs = options.maxMs ?? 5000;
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return ceiling / 2 + random() * (ceiling / 2);
}
