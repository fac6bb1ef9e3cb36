import type { BusLogger, BusMessage, SubscriptionHandlers } from './bus.js';

/**
 * The subscribers of one process, by run: the adapters keep one transport subscription per run
 * (and one connection per process) and fan each message out here. It also keeps the transport's
 * state as the subscribers know it: once `markDown` has told them the transport is down, each is
 * told once, and `resyncAll` ends the outage for all of them.
 */
export function createSubscriberRegistry(logger: BusLogger) {
  const byRun = new Map<string, Set<SubscriptionHandlers>>();
  let down: string | undefined;

  const safely = (fn: () => void, runId: string): void => {
    try {
      fn();
    } catch (error) {
      // One subscriber's bug must not stop delivery to the others.
      logger.warn({ err: error, runId }, 'bus subscriber threw');
    }
  };

  return {
    /** Adds a subscriber; returns whether it is the run's first (the transport must subscribe). */
    add(runId: string, handlers: SubscriptionHandlers): boolean {
      const set = byRun.get(runId);
      if (set) {
        set.add(handlers);
        return false;
      }
      byRun.set(runId, new Set([handlers]));
      return true;
    },
    /** Removes a subscriber; returns whether it was the run's last (the transport may unsubscribe). */
    remove(runId: string, handlers: SubscriptionHandlers): boolean {
      const set = byRun.get(runId);
      if (!set?.delete(handlers)) return false;
      if (set.size > 0) return false;
      byRun.delete(runId);
      return true;
    },
    has(runId: string): boolean {
      return byRun.has(runId);
    },
    runs(): string[] {
      return [...byRun.keys()];
    },
    deliver(message: BusMessage): void {
      for (const handlers of byRun.get(message.runId) ?? [])
        safely(() => handlers.onMessage(message), message.runId);
    },
    /** Why the transport is down, or undefined while it is up as far as subscribers know. */
    downReason(): string | undefined {
      return down;
    },
    /** The transport is down: every subscriber hears it once per outage. */
    markDown(reason: string): void {
      if (down !== undefined) return;
      down = reason;
      for (const [runId, set] of byRun)
        for (const handlers of set) safely(() => handlers.onDown?.(reason), runId);
    },
    /** The transport is back (or may have dropped messages): every subscriber reads what it lacks. */
    resyncAll(reason: string): void {
      down = undefined;
      for (const [runId, set] of byRun)
        for (const handlers of set) safely(() => handlers.onResync(reason), runId);
    },
    /** Tells one subscriber, guarding the others against its bug. */
    tell(runId: string, handlers: SubscriptionHandlers, what: 'down' | 'resync', reason: string) {
      safely(
        () => (what === 'down' ? handlers.onDown?.(reason) : handlers.onResync(reason)),
        runId,
      );
    },
    clear(): void {
      byRun.clear();
    },
  };
}

export type SubscriberRegistry = ReturnType<typeof createSubscriberRegistry>;
