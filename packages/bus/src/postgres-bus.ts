import pg from 'pg';

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
import { createPostgresListener } from './postgres-listener.js';
import { createSubscriberRegistry } from './subscriber-registry.js';

export interface PostgresBusOptions {
  /** The database whose NOTIFY carries the bus (DATABASE_URL). */
  url: string;
  logger?: BusLogger;
  /**
   * Payloads of this many bytes or more travel as a pointer (runId, seq) that subscribers read
   * from run_events; PostgreSQL refuses NOTIFY payloads of 8000 bytes or more.
   * @default 8000
   */
  maxPayloadBytes?: number;
  /** Messages per NOTIFY statement. @default 1000 */
  chunkSize?: number;
  /** Shown in pg_stat_activity, suffixed with `-listen` and `-publish`. @default 'runstream-bus' */
  applicationName?: string;
  /**
   * The deployment's bus signing key (persistence's loadBusSigningKey): published events are
   * signed with it, and a received event is delivered only when it verifies, else as a pointer.
   * Without it every event travels as a pointer (subscribers read the database).
   */
  signingKey?: SigningKey;
  /**
   * How long `subscribe` waits for its LISTEN before it resolves anyway, telling the subscriber
   * the bus is down (`onDown`) until the LISTEN is in place (`onResync`). @default 2000
   */
  subscribeTimeoutMs?: number;
  /**
   * Server-side budget of each NOTIFY statement (`statement_timeout`); the client gives up 3 s
   * later, counting the connection as dead. @default 5000
   */
  statementTimeoutMs?: number;
}

/** How much longer than the server's statement budget the client waits for an answer. */
const CLIENT_MARGIN_MS = 3000;

/** Channels are per run, so each process hears only the runs it follows. */
export function runChannel(runId: string): string {
  // Identifiers stop at 63 bytes; a uuid makes 50.
  if (Buffer.byteLength(runId) > 49)
    throw new BusError('INVALID_MESSAGE', `run id too long for a channel: ${runId}`);
  return `runstream_run_${runId}`;
}

const CHANNEL_PREFIX = 'runstream_run_';

/**
 * Whether a failed NOTIFY statement failed for what its messages hold. Only a data exception
 * (SQLSTATE class 22: a payload too long, a byte sequence the encoding refuses) does. Everything
 * else fails every message alike and is the bus's: errno codes from the socket (ECONNRESET, EPIPE,
 * ETIMEDOUT, EHOSTUNREACH) and errors with no code at all, class 08 (connection), 57 (57014 a
 * statement timeout or cancel, 57P01 a shutdown), 53 (out of connections, memory or disk), 54000
 * (a full NOTIFY queue), and anything unexpected.
 */
function isMessageError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^22[0-9A-Z]{3}$/.test(code);
}

/**
 * The live bus over LISTEN/NOTIFY on the application database: one listening connection per
 * process (demultiplexed by run), and a small pool to publish from. Each publish is one or a few
 * autocommit statements of pg_notify calls, delivered in the order called.
 */
export function createPostgresBus(options: PostgresBusOptions): Bus {
  const logger = options.logger ?? silentLogger;
  const maxBytes = options.maxPayloadBytes ?? 8000;
  const chunkSize = options.chunkSize ?? 1000;
  const appName = options.applicationName ?? 'runstream-bus';
  const registry = createSubscriberRegistry(logger);
  const codec = createMessageCodec(options.signingKey);
  if (!options.signingKey)
    logger.warn({}, 'postgres bus has no signing key: events travel as pointers (database reads)');
  let closed = false;

  const listener = createPostgresListener({
    url: options.url,
    logger,
    applicationName: `${appName}-listen`,
    onNotification(channel, payload) {
      if (!channel.startsWith(CHANNEL_PREFIX)) return;
      const message = codec.decode(payload);
      // A message names its run; on another run's channel it is not that run's (or forged).
      if (!message || channel !== `${CHANNEL_PREFIX}${message.runId}`) {
        logger.warn({ channel }, 'postgres bus: ignored a malformed payload');
        return;
      }
      registry.deliver(message);
    },
    onReconnect(reason) {
      registry.resyncAll(reason);
    },
    onDown(reason) {
      registry.markDown(reason);
    },
  });
  const subscribeTimeoutMs = options.subscribeTimeoutMs ?? 2000;

  const statementTimeoutMs = options.statementTimeoutMs ?? 5000;
  const pool = new pg.Pool({
    connectionString: options.url,
    max: 2,
    application_name: `${appName}-publish`,
    // A silent connection (a lost NAT entry, a hung proxy) must fail a publish within seconds,
    // not the kernel's 15 minutes: the server stops a statement at its budget, and the client
    // gives up a little later, when only a dead connection can still be silent. A publish that
    // fails so releases its client with the error, and the pool destroys it.
    statement_timeout: statementTimeoutMs,
    query_timeout: statementTimeoutMs + CLIENT_MARGIN_MS,
    // Also bounds the wait for one of the two connections.
    connectionTimeoutMillis: 5000,
    keepAlive: true,
    keepAliveInitialDelayMillis: 5000,
  });
  // A publisher connection that dies is replaced at the next checkout; idle, the pool hears it,
  // checked out between two chunks only the client does (the next query then rejects).
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));

  return {
    kind: 'postgres',
    async publish(messages: readonly BusMessage[]) {
      if (closed) throw new BusError('BUS_CLOSED', 'bus closed');
      if (messages.length === 0) return;
      const channels: string[] = [];
      const payloads: string[] = [];
      for (const message of messages) {
        channels.push(runChannel(message.runId));
        payloads.push(codec.encode(message, maxBytes));
      }
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (error) {
        throw new BusError('BUS_UNAVAILABLE', 'postgres bus: cannot connect', { cause: error });
      }
      let broken: Error | undefined;
      try {
        // One connection for the whole call, chunk after chunk: per-run order is call order.
        for (let i = 0; i < channels.length; i += chunkSize) {
          await client.query(
            'SELECT pg_notify(c, p) FROM unnest($1::text[], $2::text[]) AS m(c, p)',
            [channels.slice(i, i + chunkSize), payloads.slice(i, i + chunkSize)],
          );
        }
      } catch (error) {
        if (isMessageError(error))
          throw new BusError('PUBLISH_FAILED', 'postgres bus: NOTIFY refused the messages', {
            cause: error,
          });
        // The connection may be the cause, or be left mid-protocol: never reuse it.
        broken = error as Error;
        throw new BusError('BUS_UNAVAILABLE', 'postgres bus: publishing failed', { cause: error });
      } finally {
        client.release(broken);
      }
    },

    async subscribe(runId: string, handlers: SubscriptionHandlers): Promise<Subscription> {
      if (closed) throw new BusError('BUS_CLOSED', 'bus closed');
      const channel = runChannel(runId);
      registry.add(runId, handlers);
      let open = true;
      try {
        // Also when the run already had a subscriber: its LISTEN may still be in flight.
        await activateWithin(registry, runId, handlers, listener.listen(channel), {
          deadlineMs: subscribeTimeoutMs,
          isOpen: () => open,
        });
      } catch (error) {
        open = false;
        if (registry.remove(runId, handlers)) await listener.unlisten(channel);
        throw error;
      }
      return {
        async close() {
          if (!open) return;
          open = false;
          if (registry.remove(runId, handlers)) await listener.unlisten(channel);
        },
      };
    },

    async ping() {
      if (closed) return false;
      try {
        await pool.query('SELECT 1');
        return true;
      } catch {
        return false;
      }
    },

    async close() {
      if (closed) return;
      closed = true;
      registry.clear();
      await listener.close();
      await pool.end().catch(() => undefined);
    },
  };
}
