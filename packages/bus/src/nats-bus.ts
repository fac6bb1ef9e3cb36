import {
  type NatsConnection,
  type Subscription as NatsSubscription,
  errors,
} from '@nats-io/nats-core';
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
import { type SigningKey, createMessageCodec } from './message-codec.js';
import { createSubscriberRegistry } from './subscriber-registry.js';

/** How the bus authenticates to NATS: user and password, or a token. */
export type NatsCredentials = { user: string; pass: string } | { token: string };

export interface NatsBusOptions {
  /** `nats://host:port`, without credentials (they go in `credentials`, never in a log line). */
  url: string;
  /** Given to the server at connect; never logged. */
  credentials?: NatsCredentials;
  logger?: BusLogger;
  /** Subjects are `<prefix>.<runId>`. @default 'runstream.runs' */
  subjectPrefix?: string;
  /**
   * How long a publish may wait for the server's acknowledgement of its flush, before the time
   * its bytes need (see `minBytesPerSecond`) is added. @default 5000
   */
  flushTimeoutMs?: number;
  /**
   * The slowest link a publish is given time for: its flush deadline grows by its bytes divided
   * by this, so a large publish is never refused for being large (review A3: a fixed 5 s deadline
   * refused every large claim for ever). A link slower still times out with PUBLISH_TIMEOUT, and
   * the publisher sends less next time. @default 1048576 (1 MiB/s)
   */
  minBytesPerSecond?: number;
  /** Connection name shown by the server. @default 'runstream-bus' */
  name?: string;
  /**
   * The deployment's bus signing key (persistence's loadBusSigningKey): published events are
   * signed with it, and a received event is delivered only when it verifies, else as a pointer
   * (a client of the broker without it cannot forge an event). Without it every event travels as
   * a pointer (subscribers read the database).
   */
  signingKey?: SigningKey;
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
      () => reject(new BusError('PUBLISH_TIMEOUT', `nats bus: ${what} timed out after ${ms} ms`)),
      ms,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * A synchronous publish failure: a payload over the server's max_payload is the message's fault
 * (the same message fails again); a closed or draining connection, or anything else, the bus's.
 */
function classifyPublishError(error: unknown): BusError {
  if (error instanceof BusError) return error;
  if (error instanceof errors.InvalidSubjectError)
    return new BusError('INVALID_MESSAGE', 'nats bus: invalid subject', { cause: error });
  if (error instanceof errors.InvalidArgumentError)
    return new BusError('PUBLISH_FAILED', 'nats bus: the server refuses this message', {
      cause: error,
    });
  return new BusError('BUS_UNAVAILABLE', 'nats bus: publish failed', { cause: error });
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
  const minBytesPerSecond = options.minBytesPerSecond ?? 1024 * 1024;
  const subscribeTimeoutMs = options.subscribeTimeoutMs ?? 2000;
  const registry = createSubscriberRegistry(logger);
  const codec = createMessageCodec(options.signingKey);
  if (!options.signingKey)
    logger.warn({}, 'nats bus has no signing key: events travel as pointers (database reads)');
  const subs = new Map<string, NatsSubscription>();
  let closed = false;

  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: options.url,
      name: options.name ?? 'runstream-bus',
      ...options.credentials,
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
    // The url carries no credentials, and the server's answer names none: safe to print.
    const refused = error instanceof errors.AuthorizationError;
    throw new BusError(
      'BUS_UNAVAILABLE',
      refused
        ? `nats bus: ${options.url} refused the credentials (${error.message})`
        : `nats bus: cannot connect to ${options.url}`,
      { cause: error },
    );
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
      const encoded = messages.map((m) => [subject(m.runId), codec.encode(m, limit)] as const);
      let bytes = 0;
      try {
        for (const [s, payload] of encoded) {
          nc.publish(s, payload);
          bytes += Buffer.byteLength(payload);
        }
      } catch (error) {
        throw classifyPublishError(error);
      }
      // The server has every message once it answers the PING the flush sends after them; that
      // takes as long as the bytes need on the link, so the deadline grows with them.
      const deadline = flushTimeoutMs + Math.ceil((bytes / minBytesPerSecond) * 1000);
      try {
        await withTimeout(nc.flush(), deadline, `flush of ${bytes} bytes`);
      } catch (error) {
        if (error instanceof BusError) throw error;
        throw new BusError('BUS_UNAVAILABLE', 'nats bus: flush failed', { cause: error });
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
              const message = codec.decode(msg.string());
              // A message names its run; on another run's subject it is not that run's (or forged).
              if (message?.runId === runId) registry.deliver(message);
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
