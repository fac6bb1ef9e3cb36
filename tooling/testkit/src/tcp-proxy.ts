import { type AddressInfo, type Server, type Socket, connect, createServer } from 'node:net';

/**
 * What happens to a connection the proxy accepts from now on:
 * - `pass`: forwarded (with the current latency and bandwidth);
 * - `refuse`: reset at once, like a closed port or a firewall's RST;
 * - `blackhole`: accepted and then silent both ways, like a partition that drops every packet.
 */
export type NewConnectionMode = 'pass' | 'refuse' | 'blackhole';

export interface TcpProxyCounters {
  /** Connections accepted. */
  connections: number;
  /** Connections reset by `reset()` or refused. */
  resets: number;
  /** Connections turned silent by `blackhole()` or accepted silent. */
  blackholed: number;
  /** Bytes forwarded, both directions. */
  bytes: number;
}

/**
 * A TCP proxy that injects the faults real networks produce, between one process and one server
 * (PostgreSQL, NATS): connection resets, silent connections that stay open (a lost NAT or
 * conntrack entry, a hung middlebox), refused connections, latency and a bandwidth cap. The
 * product is unchanged: it just connects here (see `url`).
 */
export interface TcpProxy {
  readonly host: string;
  readonly port: number;
  readonly counters: TcpProxyCounters;
  /** `target` (a postgres:// or nats:// URL) with its host and port replaced by the proxy's. */
  url(target: string): string;
  /**
   * Sends a TCP RST on both sides of every open connection (or of those `options` pick); returns
   * how many it cut.
   */
  reset(options?: ResetOptions): number;
  /**
   * Makes every open connection silent: both sockets stay open, nothing passes either way, and
   * nothing ever will (the path is gone). New connections follow `mode`, so a process that
   * notices and reconnects gets a working connection. Returns how many it silenced.
   */
  blackhole(): number;
  /** How connections accepted from now on behave. @default 'pass' */
  mode(mode: NewConnectionMode): void;
  /** Delay added to every chunk, each way, in ms (0 for none). */
  latency(ms: number): void;
  /** Bytes per second each way, per connection (undefined for no cap). */
  bandwidth(bytesPerSecond: number | undefined): void;
  /** Back to `pass` with no latency and no cap; silenced connections stay dead. */
  heal(): void;
  /** Connections open now, silenced ones included. */
  open(): number;
  close(): Promise<void>;
}

/** Which open connections a `reset` cuts. */
export interface ResetOptions {
  /**
   * Chance that each connection is cut: flows failing independently, as behind a flapping load
   * balancer or NAT.
   * @default 1
   */
  share?: number;
  /** Only connections whose label (see `TcpProxyOptions.label`) matches. @default every connection */
  label?: RegExp;
}

/**
 * Rewrites one direction of one connection: takes each chunk as it arrives and returns the bytes to
 * forward (empty to forward nothing yet). It may keep state, such as a partial protocol message.
 */
export type ChunkFilter = (chunk: Buffer) => Buffer;

export interface TcpProxyOptions {
  /** The server to forward to. */
  targetPort: number;
  /** @default '127.0.0.1' */
  targetHost?: string;
  /** Where the proxy listens; 0 picks a free port. @default 0 */
  port?: number;
  /** Picks the connections a partial `reset` cuts; a seeded one makes it replayable. @default Math.random */
  random?: () => number;
  /**
   * Names a connection from the first bytes its client sends (`postgresApplicationName` reads
   * PostgreSQL's startup message), so that a fault can hit some of a process's connections and
   * spare the others.
   * @default no labels
   */
  label?: (firstChunk: Buffer) => string | undefined;
  /**
   * Message-level faults on top of the network ones: each factory is called once per accepted
   * connection and its filter sees that direction's bytes before latency and bandwidth apply
   * (see `createBusMessageChaos`, which drops and repeats whole bus messages).
   * @default no filter: bytes pass as they are
   */
  filter?: { toServer?: () => ChunkFilter; toClient?: () => ChunkFilter };
}

/** Bytes a direction may hold before it stops reading its source (backpressure through the proxy). */
const HIGH_WATER = 1024 * 1024;

interface Link {
  client: Socket;
  upstream: Socket;
  silent: boolean;
  label?: string;
}

export async function startTcpProxy(options: TcpProxyOptions): Promise<TcpProxy> {
  const targetHost = options.targetHost ?? '127.0.0.1';
  const random = options.random ?? Math.random;
  const counters: TcpProxyCounters = { connections: 0, resets: 0, blackholed: 0, bytes: 0 };
  const links = new Set<Link>();
  let newMode: NewConnectionMode = 'pass';
  let latencyMs = 0;
  let bytesPerSecond: number | undefined;

  /**
   * Forwards `from` to `to` in order, each chunk sent no sooner than its arrival plus the latency
   * and no faster than the bandwidth allows; drops everything once the link is silent.
   */
  const pipe = (link: Link, from: Socket, to: Socket, filter?: ChunkFilter): void => {
    let freeAt = 0;
    let queued = 0;
    from.on('data', (received: Buffer) => {
      if (link.silent) return;
      const chunk = filter ? filter(received) : received;
      if (chunk.length === 0) return;
      const now = Date.now();
      const sendAt = Math.max(now + latencyMs, freeAt);
      freeAt = bytesPerSecond ? sendAt + (chunk.length / bytesPerSecond) * 1000 : sendAt;
      const send = (): void => {
        queued -= chunk.length;
        if (!link.silent && !to.destroyed) {
          counters.bytes += chunk.length;
          to.write(chunk);
        }
        if (queued < HIGH_WATER && from.isPaused()) from.resume();
      };
      queued += chunk.length;
      if (queued >= HIGH_WATER) from.pause();
      // The time a chunk leaves is its bandwidth slot's end, so a capped link delivers at the cap.
      const delay = freeAt - now;
      if (delay <= 0) send();
      else setTimeout(send, delay);
    });
  };

  const drop = (link: Link): void => {
    links.delete(link);
    link.client.destroy();
    link.upstream.destroy();
  };

  const server: Server = createServer((client) => {
    counters.connections++;
    client.on('error', () => undefined);
    if (newMode === 'refuse') {
      counters.resets++;
      client.resetAndDestroy();
      return;
    }
    const upstream = connect({ host: targetHost, port: options.targetPort });
    upstream.on('error', () => undefined);
    const link: Link = { client, upstream, silent: newMode === 'blackhole' };
    if (options.label) {
      const label = options.label;
      client.once('data', (chunk: Buffer) => (link.label = label(chunk)));
    }
    if (link.silent) counters.blackholed++;
    links.add(link);
    client.on('close', () => drop(link));
    upstream.on('close', () => drop(link));
    pipe(link, client, upstream, options.filter?.toServer?.());
    pipe(link, upstream, client, options.filter?.toClient?.());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    host: '127.0.0.1',
    port,
    counters,
    url(target) {
      const u = new URL(target);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      return u.toString();
    },
    reset({ share = 1, label }: ResetOptions = {}) {
      let n = 0;
      for (const link of [...links]) {
        if (label && !(link.label !== undefined && label.test(link.label))) continue;
        if (share < 1 && random() >= share) continue;
        n++;
        links.delete(link);
        counters.resets++;
        link.client.resetAndDestroy();
        link.upstream.resetAndDestroy();
      }
      return n;
    },
    blackhole() {
      let n = 0;
      for (const link of links) {
        if (link.silent) continue;
        link.silent = true;
        counters.blackholed++;
        n++;
      }
      return n;
    },
    mode(mode) {
      newMode = mode;
    },
    latency(ms) {
      latencyMs = Math.max(0, ms);
    },
    bandwidth(rate) {
      bytesPerSecond = rate && rate > 0 ? rate : undefined;
    },
    heal() {
      newMode = 'pass';
      latencyMs = 0;
      bytesPerSecond = undefined;
    },
    open: () => links.size,
    async close() {
      for (const link of [...links]) drop(link);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
