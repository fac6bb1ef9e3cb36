import type { NatsConnection, Subscription as NatsSubscription } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';

import {
  type Bus,
  type BusLogger,
  type BusMessage,
  type Subscription,
  type SubscriptionHandlers,
  silentLogger,
} from './bus.js';
import { activateWithin } from './activate-within.js';
import { BusError } from './errors.js';
import { decodeMessage, encodeMessage } from './message-codec.js';
import { createSubscriberRegistry } from './subscriber-registry.js';

export interface NatsBusOptions {
  /** `nats://host:port` */
  url: string;
  logger?: BusLogger;
  /** Subjects are `<prefix>.<runId>`. @default 'runstream.runs' */
  subjectPrefix?: string;
  /** How long a publish may wait for the server's acknowledgement of its flush. @default 5000 */
  flushTimeoutMs?: number;
  /** Connection name shown by the server. @default 'runstream-bus' */
  name?: string;
  /**
   * How long `subscribe` waits for the server to confirm the subscription before it resolves
   * anyway, telling the subscriber the bus is down (`onDown`) until it is confirmed
   * (`onResync`). @default 2000
   */
  subscribeTimeoutMs?: number;
  /**
   * Client pings: a connection that leaves `maxPingOut` pings unanswered is stale and replaced,
   * so a silent connection is found within `pingIntervalMs * (maxPingOut + 1)` (6 s by default).
   * @default 1500
   */
  pingIntervalMs?: number;
  /** @default 3 */
  maxPingOut?: number;
  /** How long one connection attempt may take. @default 5000 */
  connectTimeoutMs?: number;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new BusError('BUS_UNAVAILABLE', `nats bus: ${what} timed out after ${ms} ms`)),
      ms,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * The live bus over NATS core subjects, one per run. Core NATS is at-most-once: a message in
 * flight during a broker restart is lost, which is why a reconnect tells every subscriber to
 * resync from the database. A publish resolves after a flush, once the server has every message.
 */
export async function createNatsBus(options: NatsBusOptions): Promise<Bus> {
  const logger = options.logger ?? silentLogger;
  const prefix = options.subjectPrefix ?? 'runstream.runs';
  const flushTimeoutMs = options.flushTimeoutMs ?? 5000;
  const subscribeTimeoutMs = options.subscribeTimeoutMs ?? 2000;
  const registry = createSubscriberRegistry(logger);
  const subs = new Map<string, NatsSubscription>();
  let closed = false;

  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: options.url,
      name: options.name ?? 'runstream-bus',
      reconnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      reconnectJitter: 100,
      // A dead server or a silent connection is noticed within about 6 s, traffic or not.
      pingInterval: options.pingIntervalMs ?? 1500,
      maxPingOut: options.maxPingOut ?? 3,
      timeout: options.connectTimeoutMs ?? 5000,
    });
  } catch (error) {
    throw new BusError('BUS_UNAVAILABLE', `nats bus: cannot connect to ${options.url}`, {
      cause: error,
    });
  }
  let connected = true;

  const subject = (runId: string): string => {
    if (!/^[^.*>\s]+$/.test(runId))
      throw new BusError('INVALID_MESSAGE', `run id not usable in a subject: ${runId}`);
    return `${prefix}.${runId}`;
  };

  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'staleConnection') {
        // Pings went unanswered: the client drops the connection next; publishing stops now.
        connected = false;
        logger.warn({}, 'nats bus connection is stale; reconnecting');
        registry.markDown('nats connection stale');
      } else if (status.type === 'disconnect') {
        connected = false;
        logger.warn({ server: status.server }, 'nats bus disconnected; reconnecting');
        registry.markDown('nats disconnected');
      } else if (status.type === 'reconnect') {
        connected = true;
        // The client has re-sent every subscription; a flush makes sure the server has them
        // before subscribers are told to resync, so nothing published after the resync is missed.
        try {
          await withTimeout(nc.flush(), flushTimeoutMs, 'flush after reconnect');
        } catch (error) {
          logger.warn({ err: error }, 'nats bus: flush after reconnect failed');
        }
        logger.info({ server: status.server }, 'nats bus reconnected');
        registry.resyncAll('nats reconnected');
      }
    }
  })();

  const maxPayload = (): number => nc.info?.max_payload ?? 1024 * 1024;

  return {
    kind: 'nats',
    async publish(messages: readonly BusMessage[]) {
      if (closed) throw new BusError('BUS_CLOSED', 'bus closed');
      if (messages.length === 0) return;
      // While disconnected the client would buffer and a flush would wait for the reconnect;
      // refusing at once lets the publisher back off and keep its claim short.
      if (!connected || nc.isClosed())
        throw new BusError('BUS_UNAVAILABLE', 'nats bus: not connected');
      const limit = maxPayload() - 512;
      const encoded = messages.map((m) => [subject(m.runId), encodeMessage(m, limit)] as const);
      try {
        for (const [s, payload] of encoded) nc.publish(s, payload);
        await withTimeout(nc.flush(), flushTimeoutMs, 'flush');
      } catch (error) {
        if (error instanceof BusError) throw error;
        throw new BusError('BUS_UNAVAILABLE', 'nats bus: publish failed', { cause: error });
      }
    },

    async subscribe(runId: string, handlers: SubscriptionHandlers): Promise<Subscription> {
      if (closed) throw new BusError('BUS_CLOSED', 'bus closed');
      const s = subject(runId);
      if (registry.add(runId, handlers)) {
        subs.set(
          runId,
          nc.subscribe(s, {
            callback: (error, msg) => {
              if (error) {
                logger.warn({ err: error, runId }, 'nats bus subscription error');
                return;
              }
              const message = decodeMessage(msg.string());
              if (message) registry.deliver(message);
              else logger.warn({ subject: s }, 'nats bus: ignored a malformed payload');
            },
          }),
        );
      }
      let open = true;
      // SUB is on the wire once the server answered the PING that follows it. While disconnected
      // the client keeps the subscription and sends it again when it reconnects; that flush is
      // then rejected, and the reconnect resyncs every subscriber.
      await activateWithin(
        registry,
        runId,
        handlers,
        connected
          ? nc.flush()
          : Promise.reject(new BusError('BUS_UNAVAILABLE', 'nats bus: not connected')),
        {
          deadlineMs: subscribeTimeoutMs,
          isOpen: () => open,
        },
      );
      return {
        async close() {
          if (!open) return;
          open = false;
          await release(runId, handlers);
        },
      };
    },

    async ping() {
      if (closed || !connected) return false;
      try {
        await withTimeout(nc.flush(), 2000, 'ping');
        return true;
      } catch {
        return false;
      }
    },

    async close() {
      if (closed) return;
      closed = true;
      registry.clear();
      subs.clear();
      await nc.close().catch(() => undefined);
    },
  };

  async function release(runId: string, handlers: SubscriptionHandlers): Promise<void> {
    if (!registry.remove(runId, handlers)) return;
    const sub = subs.get(runId);
    subs.delete(runId);
    if (sub && !nc.isClosed()) sub.unsubscribe();
  }
}
