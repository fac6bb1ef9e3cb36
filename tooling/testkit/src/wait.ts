/**
 * Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs`.
 * For waits outside a vitest test (benchmarks, the fault suite, spawned stacks, `pnpm start`); a
 * vitest test uses `vi.waitFor`/`vi.waitUntil`. A check that throws is retried (a process that is
 * still starting refuses connections); the last error becomes the timeout's cause.
 */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 60_000,
  intervalMs = 100,
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
    await pause(intervalMs);
  }
}

/** A pause between two actions (a fault's down time, a poll's interval); never a wait for a condition. */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
