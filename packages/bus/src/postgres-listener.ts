import pg from 'pg';

import { type BusLogger, silentLogger } from './bus.js';
import { BusError } from './errors.js';

export interface PostgresListenerOptions {
  /** PostgreSQL connection string. */
  url: string;
  /** Called for every notification on a channel this listener listens to. */
  onNotification(channel: string, payload: string): void;
  /**
   * Called after a lost connection was replaced (or a first connection succeeded after failed
   * attempts) and every channel is listened to again: notifications sent in between were lost.
   */
  onReconnect?(reason: string): void;
  /**
   * Called when the listening connection is lost or found silent, or cannot be made: no
   * notification arrives until `onReconnect`. Once per outage.
   */
  onDown?(reason: string): void;
  logger?: BusLogger;
  /** Shown in pg_stat_activity. @default 'runstream-listener' */
  applicationName?: string;
  /**
   * How often an idle listener checks its connection with `SELECT 1`, so that a silent one is
   * found (a LISTEN connection otherwise never sends anything). @default 3000
   */
  healthCheckMs?: number;
  /**
   * How long any statement on the listening connection (LISTEN, UNLISTEN, the health check) may
   * go unanswered before the connection counts as dead and is replaced. With the health check
   * interval this bounds how long a silent connection goes unnoticed (6 s by default).
   * @default 3000
   */
  queryTimeoutMs?: number;
  /** How long connecting (TCP, TLS and authentication) may take. @default 5000 */
  connectTimeoutMs?: number;
  /**
   * Idle time before TCP keepalive probes start: they keep NAT and firewall entries of a quiet
   * connection alive. (They do not find a dead peer quickly; the health check does.)
   * @default 5000
   */
  keepAliveIdleMs?: number;
  /** First delay before reconnecting; doubles up to 5 s. @default 100 */
  reconnectDelayMs?: number;
}

export interface PostgresListener {
  /**
   * Listens to a channel; resolves once LISTEN has run on the server, on this connection or (if
   * it dies meanwhile) on the next, which may take as long as the database is unreachable.
   */
  listen(channel: string): Promise<void>;
  unlisten(channel: string): Promise<void>;
  /** Whether the listening connection is up now. */
  connected(): boolean;
  close(): Promise<void>;
}

const quote = (channel: string): string => `"${channel.replaceAll('"', '""')}"`;

/** One connection and its own statement queue: a dead connection's queue dies with it. */
interface Connection {
  client: pg.Client;
  tail: Promise<unknown>;
  dead: boolean;
  /** LISTEN statements run or queued on this connection, by channel. */
  listening: Map<string, Promise<unknown>>;
}

/**
 * One LISTEN connection per process, shared by every channel, that reconnects by itself with
 * backoff and listens again to every channel before telling its owner (onReconnect). Every
 * statement has a deadline, and an idle connection is checked every `healthCheckMs`: a connection
 * that goes silent (a lost NAT entry, a hung proxy: open, and dead) is found within
 * `healthCheckMs + queryTimeoutMs` and replaced, instead of after the kernel's retransmission
 * limit (about 15 minutes).
 */
export function createPostgresListener(options: PostgresListenerOptions): PostgresListener {
  const logger = options.logger ?? silentLogger;
  const healthCheckMs = options.healthCheckMs ?? 3000;
  const queryTimeoutMs = options.queryTimeoutMs ?? 3000;
  const channels = new Set<string>();
  let current: Connection | undefined;
  let connecting: Promise<Connection> | undefined;
  let everConnected = false;
  let down = false;
  let closed = false;
  let checking = false;
  const waitAbort = new AbortController();

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      waitAbort.signal.addEventListener('abort', () => (clearTimeout(t), resolve()), {
        once: true,
      });
    });

  const goDown = (reason: string): void => {
    if (down || closed) return;
    down = true;
    options.onDown?.(reason);
  };

  /**
   * Closes a connection at once. end() would wait for the server's goodbye, which a silent
   * connection never sends; destroying the socket frees it now.
   */
  const destroy = (client: pg.Client): void => {
    client.removeAllListeners('notification');
    client.connection.stream.destroy();
  };

  const drop = (conn: Connection, reason: string): void => {
    if (conn.dead) return;
    conn.dead = true;
    destroy(conn.client);
    if (current !== conn) return;
    current = undefined;
    if (closed) return;
    logger.warn({ reason }, 'postgres listener lost its connection; reconnecting');
    goDown(reason);
    // Reconnect at once rather than on the next listen: the owner must hear onReconnect even when
    // nobody subscribes in the meantime.
    ensureConnected().catch(() => undefined);
  };

  /**
   * Runs one statement on `conn`, after the ones before it on the same connection (pg deprecates
   * overlapping queries). A statement unanswered after `queryTimeoutMs` kills the connection,
   * which fails it and everything queued behind it at once.
   */
  const run = (conn: Connection, sql: string): Promise<unknown> => {
    const result = conn.tail.then(() => {
      if (conn.dead) throw new BusError('BUS_UNAVAILABLE', 'listener connection lost');
      let timer: NodeJS.Timeout | undefined;
      return Promise.race([
        conn.client.query(sql),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            const reason = `no answer to "${sql.slice(0, 40)}" within ${queryTimeoutMs} ms`;
            drop(conn, reason);
            reject(new BusError('BUS_UNAVAILABLE', `postgres listener: ${reason}`));
          }, queryTimeoutMs);
        }),
      ]).finally(() => clearTimeout(timer));
    });
    conn.tail = result.catch(() => undefined);
    return result;
  };

  const connectOnce = async (): Promise<Connection> => {
    const client = new pg.Client({
      connectionString: options.url,
      application_name: options.applicationName ?? 'runstream-listener',
      keepAlive: true,
      keepAliveInitialDelayMillis: options.keepAliveIdleMs ?? 5000,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
    });
    const conn: Connection = {
      client,
      tail: Promise.resolve(),
      dead: false,
      listening: new Map(),
    };
    client.on('error', (error) => drop(conn, error.message));
    client.on('end', () => drop(conn, 'connection ended'));
    client.on('notification', (n) => {
      if (n.payload !== undefined) options.onNotification(n.channel, n.payload);
    });
    try {
      await client.connect();
      // Every channel asked for so far, in one round trip, before anyone is told we are back.
      if (channels.size > 0) {
        const all = [...channels];
        const listened = run(conn, all.map((ch) => `LISTEN ${quote(ch)};`).join(' '));
        for (const channel of all) conn.listening.set(channel, listened);
        await listened;
      }
    } catch (error) {
      conn.dead = true;
      destroy(client);
      throw error;
    }
    return conn;
  };

  const ensureConnected = (): Promise<Connection> => {
    if (current) return Promise.resolve(current);
    connecting ??= (async () => {
      let delay = options.reconnectDelayMs ?? 100;
      for (;;) {
        if (closed) throw new BusError('BUS_CLOSED', 'listener closed');
        try {
          const conn = await connectOnce();
          if (closed) {
            destroy(conn.client);
            throw new BusError('BUS_CLOSED', 'listener closed');
          }
          current = conn;
          const reconnected = everConnected || down;
          everConnected = true;
          down = false;
          if (reconnected) {
            logger.info({ channels: channels.size }, 'postgres listener reconnected');
            options.onReconnect?.('postgres listener reconnected');
          }
          return conn;
        } catch (error) {
          if (error instanceof BusError && error.code === 'BUS_CLOSED') throw error;
          logger.debug({ err: error, delayMs: delay }, 'postgres listener connect failed');
          goDown(error instanceof Error ? error.message : String(error));
          await sleep(delay);
          delay = Math.min(delay * 2, 5000);
        }
      }
    })().finally(() => {
      connecting = undefined;
    });
    return connecting;
  };

  const healthTimer = setInterval(() => {
    const conn = current;
    if (!conn || checking) return;
    checking = true;
    run(conn, 'SELECT 1')
      .catch((error: Error) => drop(conn, error.message))
      .finally(() => (checking = false));
  }, healthCheckMs);
  healthTimer.unref();

  return {
    async listen(channel) {
      if (closed) throw new BusError('BUS_CLOSED', 'listener closed');
      channels.add(channel);
      // When the connection dies under the LISTEN, the next one listens to the whole channel set,
      // this channel included, before it is handed out: running LISTEN there again is harmless.
      while (channels.has(channel)) {
        const conn = await ensureConnected();
        // A thousand subscribers of one run share one LISTEN per connection.
        let listened = conn.listening.get(channel);
        if (!listened) {
          listened = run(conn, `LISTEN ${quote(channel)}`);
          conn.listening.set(channel, listened);
        }
        try {
          await listened;
          return;
        } catch (error) {
          conn.listening.delete(channel);
          drop(conn, error instanceof Error ? error.message : String(error));
        }
      }
    },
    async unlisten(channel) {
      channels.delete(channel);
      const conn = current;
      if (!conn || closed) return;
      // A LISTEN asked for after this point is queued after the UNLISTEN, in order.
      conn.listening.delete(channel);
      await run(conn, `UNLISTEN ${quote(channel)}`).catch(() => undefined);
    },
    connected: () => current !== undefined,
    async close() {
      if (closed) return;
      closed = true;
      waitAbort.abort();
      clearInterval(healthTimer);
      const conn = current;
      current = undefined;
      if (conn) {
        conn.client.removeAllListeners('notification');
        // A healthy connection says goodbye; a silent one must not hold the shutdown.
        const ended = conn.client.end().catch(() => undefined);
        const timer = setTimeout(() => drop(conn, 'closing'), 1000);
        await ended;
        clearTimeout(timer);
        conn.dead = true;
      }
      await connecting?.catch(() => undefined);
    },
  };
}
