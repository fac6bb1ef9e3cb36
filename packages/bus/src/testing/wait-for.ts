export interface WaitForOptions {
  /** @default 15000 */
  timeoutMs?: number;
  /** @default 20 */
  intervalMs?: number;
  /** Named in the timeout error. */
  what?: string;
}

/** Polls a condition until it holds or the deadline passes (tests wait on conditions, never on sleeps). */
export async function waitFor(condition: () => boolean | Promise<boolean>, options: WaitForOptions = {}): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${options.what ?? 'a condition'}`);
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 20));
  }
}
