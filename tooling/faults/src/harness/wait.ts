export { freePort, waitFor } from '@runstream/persistence/testing';
export { isAlive } from '@runstream/e2e/processes';

/** A pause between two fault actions; never used to wait for a condition (waitFor does that). */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
