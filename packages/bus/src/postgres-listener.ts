import pg from 'pg';

import { type BusLogger, silentLogger } from './bus.js';
import { BusError } from './errors.js';

export interface PostgresListenerOptions {
  /** PostgreSQL connection string. */
  url: string;
  /** Called for every notification on a channel this listener listens to. */
  onNotification(channel: string, payload: string): void;
  /**
   * Called after a lost connection was replaced and every channel is listened to again:
   * notifications sent in between were lost.
   */
  onReconnect?(reason: string): void;
  logger?: BusLogger;
  /** Shown in pg_stat_activity. @default 'runstream-listener' */
  applicationName?: string;
  /**
   * How often an idle listener checks its connection, so that a silently dead one is found
   * (a LISTEN connection otherwise never sends anything). @default 5000
   */
  healthCheckMs?: number;
  /** First delay before reconnecting; doubles up to 5 s. @default 100 */
  reconnectDelayMs?: number;
}

export interface PostgresListener {
  /** Listens to a channel; resolves once LISTEN has run on the server. */
  listen(channel: string): Promise<void>;
  unlisten(channel: string): Promise<void>;
  /** Whether the listening connection is up now. */
  connected(): boolean;
  close(): Promise<void>;
}

const quote = (channel: string): string => `"${channel.replaceAll('"', '""')}"`;

/**
 * One LISTEN connection per process, shared by every channel, that reconnects by itself with
 * backoff and listens again to every channel before telling its owner (onReconnect).
 */
export function createPostgresListener(options: PostgresListenerOptions): PostgresListener {
  const logger = options.logger ?? silentLogger;
  const channels = new Set<string>();
  let client: pg.Client | undefined;
  let connecting: Promise<pg.Client> | undefined;
  let everConnected = false;
  let closed = false;
  let healthTimer: NodeJS.Timeout | undefined;
  const waitAbort = new AbortController();
  // One query at a time on the listening connection (pg deprecates overlapping queries).
  let queue: Promise<unknown> = Promise.resolve();
  const query = (c: pg.Client, sql: string): Promise<unknown> => {
    const run = queue.then(() => c.query(sql));
    queue = run.catch(() => undefined);
    return run;
  };

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      waitAbort.signal.addEventListener('abort', () => (clearTimeout(t), resolve()), {
        once: true,
      });
    });

  const drop = (c: pg.Client, reason: string): void => {
    if (client !== c) return;
    client = undefined;
    c.removeAllListeners('notification');
    c.end().catch(() => undefined);
    if (closed) return;
    logger.warn({ reason }, 'postgres listener lost its connection; reconnecting');
    // Reconnect at once rather than on the next listen: the owner must hear onReconnect even when
    // nobody subscribes in the meantime.
    ensureConnected().catch(() => undefined);
  };

  const connectOnce = async (): Promise<pg.Client> => {
    const c = new pg.Client({
      connectionString: options.url,
      application_name: options.applicationName ?? 'runstream-listener',
      keepAlive: true,
    });
    c.on('error', (error) => drop(c, error.message));
    c.on('end', () => drop(c, 'connection ended'));
    c.on('notification', (n) => {
      if (n.payload !== undefined) options.onNotification(n.channel, n.payload);
    });
    await c.connect();
    try {
      // Every channel asked for so far, in one round trip, before anyone is told we are back.
      if (channels.size > 0)
        await c.query([...channels].map((ch) => `LISTEN ${quote(ch)};`).join(' '));
    } catch (error) {
      c.removeAllListeners();
      c.on('error', () => undefined);
      await c.end().catch(() => undefined);
      throw error;
    }
    return c;
  };

  const ensureConnected = (): Promise<pg.Client> => {
    if (client) return Promise.resolve(client);
    connecting ??= (async () => {
      let delay = options.reconnectDelayMs ?? 100;
      for (;;) {
        if (closed) throw new BusError('BUS_CLOSED', 'listener closed');
        try {
          const c = await connectOnce();
          if (closed) {
            await c.end().catch(() => undefined);
            throw new BusError('BUS_CLOSED', 'listener closed');
          }
          client = c;
          const reconnected = everConnected;
          everConnected = true;
          if (reconnected) {
            logger.info({ channels: channels.size }, 'postgres listener reconnected');
            options.onReconnect?.('postgres listener reconnected');
          }
          return c;
        } catch (error) {
          if (error instanceof BusError) throw error;
          logger.debug({ err: error, delayMs: delay }, 'postgres listener connect failed');
          await sleep(delay);
          delay = Math.min(delay * 2, 5000);
        }
      }
    })().finally(() => {
      connecting = undefined;
    });
    return connecting;
  };

  const healthCheckMs = options.healthCheckMs ?? 5000;
  healthTimer = setInterval(() => {
    const c = client;
    if (c) query(c, 'SELECT 1').catch((error: Error) => drop(c, error.message));
  }, healthCheckMs);
  healthTimer.unref();

  // Runs `sql` on the live connection; when that connection dies under it, the reconnect has
  // already (re)applied the wanted channel set, so the next connection is the answer.
  const onLive = async (sql: string): Promise<void> => {
    for (;;) {
      const c = await ensureConnected();
      try {
        await query(c, sql);
        return;
      } catch (error) {
        drop(c, error instanceof Error ? error.message : String(error));
      }
    }
  };

  return {
    async listen(channel) {
      if (closed) throw new BusError('BUS_CLOSED', 'listener closed');
      channels.add(channel);
      await onLive(`LISTEN ${quote(channel)}`);
    },
    async unlisten(channel) {
      channels.delete(channel);
      const c = client;
      if (c && !closed) await query(c, `UNLISTEN ${quote(channel)}`).catch(() => undefined);
    },
    connected: () => client !== undefined,
    async close() {
      if (closed) return;
      closed = true;
      waitAbort.abort();
      clearInterval(healthTimer);
      healthTimer = undefined;
      const c = client;
      client = undefined;
      if (c) {
        c.removeAllListeners('notification');
        await c.end().catch(() => undefined);
      }
      await connecting?.catch(() => undefined);
    },
  };
}
