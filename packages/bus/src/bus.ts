import type { RunEventEnvelope } from '@runstream/events';

/**
 * One message on the live bus. Every message names its run and seq; `event` is absent when the
 * event did not fit the transport (PostgreSQL NOTIFY payloads stop at 8000 bytes) and the
 * subscriber must read it from the database by (runId, seq).
 */
export interface BusMessage {
  source: 'outbox';
  runId: string;
  seq: number;
  event?: RunEventEnvelope;
}

export interface SubscriptionHandlers {
  /** A message for the subscribed run. Delivery is at-least-once: drop seq <= the last one handled. */
  onMessage(message: BusMessage): void;
  /**
   * The transport reconnected (broker or database restart), or a subscription that was not yet
   * active is now: messages may have been missed since the last one delivered, so the subscriber
   * should read what it lacks from the database. Also follows every `onDown`.
   */
  onResync(reason: string): void;
  /**
   * The transport is known to be down (a lost or silent connection, a subscription that could not
   * be made active in time): until `onResync`, nothing may arrive, so a subscriber that must stay
   * current reads the database by itself meanwhile. May come more than once in an outage.
   */
  onDown?(reason: string): void;
}

export interface Subscription {
  close(): Promise<void>;
}

/** The live bus: publish and subscribe per run. Only the outbox worker publishes. */
export interface Bus {
  /** Which adapter this is, for logs and metrics. */
  readonly kind?: 'postgres' | 'nats' | 'memory';
  /**
   * Publishes messages; per run, in the order given (and across calls, in call order when each
   * call is awaited). Resolves once the transport accepted them; rejects with a `BusError`.
   */
  publish(messages: readonly BusMessage[]): Promise<void>;
  /**
   * Subscribes to one run. Resolves once the subscription is active: every message published
   * after that is delivered (subscribe first, then replay from the database, closes the race).
   * Never waits without bound: when the transport is down or does not answer within the adapter's
   * deadline, it resolves anyway after calling `onDown`, and calls `onResync` once the
   * subscription is active. Rejects only when the bus is closed or the run id is unusable.
   */
  subscribe(runId: string, handlers: SubscriptionHandlers): Promise<Subscription>;
  /** Whether the transport answers now (for readiness probes). */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** The few logger methods the adapters use; a pino logger fits. */
export interface BusLogger {
  debug(obj: Record<string, unknown>, msg: string): void;
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
}

export const silentLogger: BusLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
};
