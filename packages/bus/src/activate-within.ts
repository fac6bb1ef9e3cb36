import type { SubscriptionHandlers } from './bus.js';
import { BusError } from './errors.js';
import type { SubscriberRegistry } from './subscriber-registry.js';

/**
 * Waits for a new subscription to become active on the transport, but never longer than
 * `deadlineMs`, and not at all while the transport is known to be down: a stream must start even
 * when the bus cannot serve it (the database has every event). A subscription that is not active
 * in time is told `onDown` and keeps waiting in the background; `onResync` follows once it is
 * active, or once the transport reconnects (which resubscribes every run). Rejects only with
 * BUS_CLOSED.
 */
export async function activateWithin(
  registry: SubscriberRegistry,
  runId: string,
  handlers: SubscriptionHandlers,
  activation: Promise<unknown>,
  options: { deadlineMs: number; isOpen(): boolean },
): Promise<void> {
  const down = registry.downReason();
  let late = down;
  if (late === undefined) {
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      activation.then(
        () => 'active' as const,
        (error: unknown) => error,
      ),
      new Promise<'late'>((resolve) => {
        timer = setTimeout(() => resolve('late'), options.deadlineMs);
      }),
    ]).finally(() => clearTimeout(timer));
    if (outcome === 'active') return;
    if (outcome instanceof BusError && outcome.code === 'BUS_CLOSED') throw outcome;
    late =
      outcome === 'late'
        ? `subscription not active after ${options.deadlineMs} ms`
        : 'subscription failed; waiting for the transport';
  }
  registry.tell(runId, handlers, 'down', late);
  activation.then(
    () => {
      if (options.isOpen()) registry.tell(runId, handlers, 'resync', 'subscription active');
    },
    // The transport's reconnect resubscribes every run and resyncs every subscriber.
    () => undefined,
  );
}
