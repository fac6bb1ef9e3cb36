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
import { decodeMessage, encodeMessage } from './message-codec.js';
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

/** SQLSTATE classes that mean "the connection or server is gone", not "this publish is wrong". */
function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return true;
  return code.startsWith('08') || code.startsWith('57P') || code === '53300';
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
  let closed = false;

  const listener = createPostgresListener({
    url: options.url,
    logger,
    applicationName: `${appName}-listen`,
    onNotification(channel, payload) {
      if (!channel.startsWith(CHANNEL_PREFIX)) return;
      const message = decodeMessage(payload);
      if (!message) {
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
        payloads.push(encodeMessage(message, maxBytes));
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
        if (isConnectionError(error)) {
          broken = error as Error;
          throw new BusError('BUS_UNAVAILABLE', 'postgres bus: connection lost while publishing', {
            cause: error,
          });
        }
        throw new BusError('PUBLISH_FAILED', 'postgres bus: NOTIFY failed', { cause: error });
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
