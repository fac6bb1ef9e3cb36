import { type Socket, connect, createServer } from 'node:net';

/**
 * A TCP proxy in front of PostgreSQL that injects the failures a real network causes, for tests of
 * the code that must survive them. It speaks just enough of the wire protocol (plain connections,
 * no TLS) to pick the moment of a fault.
 */
export interface PostgresProxy {
  /** `url` with its host and port replaced by the proxy's. */
  readonly url: string;
  /**
   * While true, every new connection is reset at once (what a server refusing connections looks
   * like to a client); connections already open are left alone.
   */
  refuse: boolean;
  /**
   * Arms a one-shot fault: the next time a client executes a prepared statement whose name starts
   * with `name`, the proxy
   * lets the server finish it (CommandComplete, then ReadyForQuery: an autocommit statement has
   * committed by then), swallows the answer and resets the client's connection. The client sees
   * an error for a write that did commit. Resolves once it has happened.
   */
  resetAfterCommit(name: string): Promise<void>;
  /** Resets every open connection. */
  resetAll(): void;
  /** Connections accepted so far, refused ones included. */
  readonly connections: number;
  close(): Promise<void>;
}

const SSL_REQUEST = 80877103;

/** Complete protocol messages at the front of `pending` (type byte, int32 length counting itself). */
function frames(pending: Buffer): { messages: Buffer[]; rest: Buffer } {
  const messages: Buffer[] = [];
  let offset = 0;
  while (pending.length - offset >= 5) {
    const length = pending.readInt32BE(offset + 1);
    if (pending.length - offset < 1 + length) break;
    messages.push(pending.subarray(offset, offset + 1 + length));
    offset += 1 + length;
  }
  return { messages, rest: pending.subarray(offset) };
}

/** The prepared statement a Bind message names (after the portal name; both NUL-terminated). */
function boundStatement(bind: Buffer): string {
  const portalEnd = bind.indexOf(0, 5);
  const statementEnd = bind.indexOf(0, portalEnd + 1);
  return bind.subarray(portalEnd + 1, statementEnd).toString('utf8');
}

export async function startPostgresProxy(url: string): Promise<PostgresProxy> {
  const target = new URL(url);
  const targetPort = Number(target.port || 5432);
  const open = new Set<Socket>();
  let armed: { name: string; done: () => void } | undefined;
  let connections = 0;

  const server = createServer((client) => {
    connections++;
    if (proxy.refuse) {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect({ host: target.hostname, port: targetPort });
    open.add(client);
    const end = (): void => {
      open.delete(client);
      if (!client.destroyed) client.destroy();
      if (!upstream.destroyed) upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);

    // Client to server: the startup message has no type byte; after it, typed messages.
    let startup = true;
    let fromClient = Buffer.alloc(0);
    // Set when this connection bound the armed statement: its next CommandComplete is the one.
    let trap: { done: () => void } | undefined;
    let swallowing = false;
    client.on('data', (chunk: Buffer) => {
      upstream.write(chunk);
      fromClient = Buffer.concat([fromClient, chunk]);
      while (startup && fromClient.length >= 8) {
        const length = fromClient.readInt32BE(0);
        if (fromClient.length < length) return;
        startup = fromClient.readInt32BE(4) === SSL_REQUEST;
        fromClient = fromClient.subarray(length);
      }
      const { messages, rest } = frames(fromClient);
      fromClient = Buffer.from(rest);
      for (const message of messages) {
        if (
          armed &&
          message[0] === 0x42 /* B */ &&
          boundStatement(message).startsWith(armed.name)
        ) {
          trap = armed;
          armed = undefined;
        }
      }
    });

    let fromServer = Buffer.alloc(0);
    upstream.on('data', (chunk: Buffer) => {
      if (!trap && !swallowing) {
        client.write(chunk);
        return;
      }
      fromServer = Buffer.concat([fromServer, chunk]);
      const { messages, rest } = frames(fromServer);
      fromServer = Buffer.from(rest);
      const out: Buffer[] = [];
      for (const message of messages) {
        if (trap && message[0] === 0x43 /* C: CommandComplete */) swallowing = true;
        if (!swallowing) {
          out.push(message);
          continue;
        }
        if (message[0] === 0x5a /* Z: ReadyForQuery, the statement has committed */) {
          if (out.length > 0) client.write(Buffer.concat(out));
          const fired = trap!;
          trap = undefined;
          client.resetAndDestroy();
          upstream.destroy();
          fired.done();
          return;
        }
      }
      if (out.length > 0) client.write(Buffer.concat(out));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('the proxy has no port');
  const proxied = new URL(url);
  proxied.hostname = '127.0.0.1';
  proxied.port = String(address.port);

  const proxy: PostgresProxy = {
    url: proxied.toString(),
    refuse: false,
    get connections() {
      return connections;
    },
    resetAfterCommit(name) {
      return new Promise<void>((resolve) => {
        armed = { name, done: resolve };
      });
    },
    resetAll() {
      for (const socket of open) socket.resetAndDestroy();
    },
    async close() {
      for (const socket of open) socket.resetAndDestroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return proxy;
}
