export type { Bus, BusMessage, Subscription, SubscriptionHandlers } from './bus.js';
export { createMemoryBus } from './memory-bus.js';
