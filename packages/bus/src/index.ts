export {
  silentLogger,
  type Bus,
  type BusLogger,
  type BusMessage,
  type Subscription,
  type SubscriptionHandlers,
} from './bus.js';
export { createBus, type BusConfig, type BusDeps } from './create-bus.js';
export { BusError, failureScope, isTransient, type BusErrorCode } from './errors.js';
export { createMemoryBus } from './memory-bus.js';
export type { SigningKey } from './message-codec.js';
export { createNatsBus, type NatsBusOptions, type NatsCredentials } from './nats-bus.js';
export { createPostgresBus, runChannel, type PostgresBusOptions } from './postgres-bus.js';
export {
  createPostgresListener,
  type PostgresListener,
  type PostgresListenerOptions,
} from './postgres-listener.js';
