import type { Bus, BusMessage, Subscription, SubscriptionHandlers } from './bus.js';
import { BusError } from './errors.js';
import { checkMessage } from './message-codec.js';

/**
 * A bus inside one process: for tests and for library users who run everything in one process.
 * It cannot connect two processes; use `postgres` or `nats` for that.
 */
export function createMemoryBus(): Bus {
  const subscribers = new Map<string, Set<SubscriptionHandlers>>();
  let closed = false;
  return {
    kind: 'memory',
    async publish(messages: readonly BusMessage[]) {
      if (closed) throw new BusError('BUS_CLOSED', 'bus closed');
      for (const message of messages) checkMessage(message);
      for (const message of messages) {
        for (const handlers of subscribers.get(message.runId) ?? []) handlers.onMessage(message);
      }
    },
    async subscribe(runId: string, handlers: SubscriptionHandlers): Promise<Subscription> {
      const set = subscribers.get(runId) ?? new Set();
      set.add(handlers);
      subscribers.set(runId, set);
      return {
        async close() {
          set.delete(handlers);
          if (set.size === 0 && subscribers.get(runId) === set) subscribers.delete(runId);
        },
      };
    },
    async ping() {
      return !closed;
    },
    async close() {
      closed = true;
      subscribers.clear();
    },
  };
}
