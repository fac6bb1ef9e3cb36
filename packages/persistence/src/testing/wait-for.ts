/**
 * Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs`.
 * For waits outside a vitest test (benchmarks, the fault suite, spawned stacks); a vitest test uses
 * `vi.waitFor`/`vi.waitUntil`. A check that throws is retried: a process that is still starting
 * refuses connections; the last error becomes the timeout's cause.
 */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}`, { cause: lastError });
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
