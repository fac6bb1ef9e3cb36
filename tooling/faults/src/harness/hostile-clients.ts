import { Agent, request } from 'node:http';
import { type Socket, connect } from 'node:net';

import { pause } from '@runstream/testkit';

export interface SlowlorisOptions {
  /** The api's port on 127.0.0.1. */
  port: number;
  sockets: number;
  /**
   * `head`: a request head that never ends; `body`: a whole head (with a valid key, so the server
   * waits for the body) and a body that never ends.
   */
  part: 'head' | 'body';
  /** Where the sockets come from: an address of their own, so a per-address limit is theirs alone. */
  localAddress: string;
  /** Needed for `body`: the server reads a body only after the key passed. */
  apiKey?: string;
  /**
   * One more byte on each socket this often: a trickle, so that only a bound on the whole head or
   * body closes the socket, never an idle timeout.
   * @default 1000
   */
  trickleMs?: number;
}

export interface SlowlorisResult {
  part: 'head' | 'body';
  /** Per socket, how long after its first byte the server closed it; undefined while open. */
  closedAfterMs: (number | undefined)[];
}

export interface Slowloris {
  /** Resolves once the server closed every socket, or after `waitMs`; destroys what is left open. */
  finish(waitMs: number): Promise<SlowlorisResult>;
}

/**
 * Half-sent requests, the slowloris attack: many sockets that each hold a request open by sending
 * it a byte at a time. A server without a bound on the time a head or body may take keeps every
 * one of them, and their file descriptors, for ever.
 */
export function startSlowloris(options: SlowlorisOptions): Slowloris {
  const trickleMs = options.trickleMs ?? 1000;
  const sockets: { socket: Socket; openedAt: number; closedAfterMs?: number }[] = [];
  const first =
    options.part === 'head'
      ? 'GET /v1/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: '
      : 'POST /v1/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
        `Authorization: Bearer ${options.apiKey ?? ''}\r\nContent-Length: 100000\r\n\r\n{"graph":"synthetic","input":{"events":1},"x":"`;
  let allClosed: (() => void) | undefined;
  for (let i = 0; i < options.sockets; i++) {
    const entry: (typeof sockets)[number] = {
      socket: connect({
        host: '127.0.0.1',
        port: options.port,
        localAddress: options.localAddress,
      }),
      openedAt: Date.now(),
    };
    sockets.push(entry);
    entry.socket.on('error', () => undefined);
    // Whatever the server answers (a 408, a 400), what counts is that it lets the socket go.
    entry.socket.on('data', () => undefined);
    entry.socket.once('connect', () => {
      entry.openedAt = Date.now();
      entry.socket.write(first);
    });
    entry.socket.once('close', () => {
      entry.closedAfterMs ??= Date.now() - entry.openedAt;
      if (sockets.every((s) => s.closedAfterMs !== undefined)) allClosed?.();
    });
  }
  const trickle = setInterval(() => {
    for (const { socket } of sockets) if (socket.writable) socket.write('a');
  }, trickleMs);
  return {
    async finish(waitMs) {
      if (sockets.some((s) => s.closedAfterMs === undefined)) {
        const closed = new Promise<void>((resolve) => (allClosed = resolve));
        await Promise.race([closed, pause(waitMs)]);
      }
      clearInterval(trickle);
      const result: SlowlorisResult = {
        part: options.part,
        closedAfterMs: sockets.map((s) => s.closedAfterMs),
      };
      for (const { socket } of sockets) socket.destroy();
      return result;
    },
  };
}

export interface AuthFloodOptions {
  apiUrl: string;
  /** Where the requests come from (see SlowlorisOptions.localAddress). */
  localAddress: string;
  /** Requests in flight at once. @default 4 */
  concurrency?: number;
  /**
   * At most this many requests a second, so that the flood proves the throttle without taking
   * the machine from the rest of the scenario (a real one goes as fast as the server answers).
   * @default 500
   */
  ratePerSecond?: number;
  signal: AbortSignal;
}

export interface AuthFloodResult {
  requests: number;
  /** Answers counted by status; 0 counts requests that got no answer. */
  statuses: Record<number, number>;
  /** Whether a 429 carried Retry-After. */
  retryAfter: boolean;
  /** Error answers not in the `{"error":{"code","message"}}` shape (the first few, abridged). */
  badShapes: string[];
}

/**
 * A key-guessing flood: requests with a fresh wrong key each, as fast as the server answers, on
 * kept-alive connections from one address, until `signal` aborts.
 */
export async function floodWrongKeys(options: AuthFloodOptions): Promise<AuthFloodResult> {
  const agent = new Agent({ keepAlive: true, localAddress: options.localAddress });
  const result: AuthFloodResult = { requests: 0, statuses: {}, retryAfter: false, badShapes: [] };
  const url = new URL('/v1/runs', options.apiUrl);
  const once = (key: string): Promise<void> =>
    new Promise((resolve) => {
      const req = request(
        url,
        { agent, headers: { authorization: `Bearer ${key}` }, timeout: 5000 },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            result.statuses[status] = (result.statuses[status] ?? 0) + 1;
            if (status === 429 && res.headers['retry-after'] !== undefined)
              result.retryAfter = true;
            const body = Buffer.concat(chunks).toString();
            if (status >= 400 && !hasErrorShape(body) && result.badShapes.length < 3)
              result.badShapes.push(`${status} ${body.slice(0, 120)}`);
            resolve();
          });
          res.on('error', () => resolve());
        },
      );
      req.on('timeout', () => req.destroy());
      req.on('error', () => {
        result.statuses[0] = (result.statuses[0] ?? 0) + 1;
        resolve();
      });
      req.end();
    });
  const concurrency = options.concurrency ?? 4;
  const spacingMs = (concurrency * 1000) / (options.ratePerSecond ?? 500);
  const worker = async (w: number): Promise<void> => {
    let nextAt = Date.now();
    for (let i = 0; !options.signal.aborted; i++) {
      result.requests++;
      await once(`wrong-key-${w}-${i}-${Math.random().toString(36).slice(2)}`);
      nextAt += spacingMs;
      if (nextAt > Date.now()) await pause(nextAt - Date.now(), options.signal);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  agent.destroy();
  return result;
}

function hasErrorShape(body: string): boolean {
  try {
    const parsed = JSON.parse(body) as { error?: { code?: unknown; message?: unknown } };
    return typeof parsed.error?.code === 'string' && typeof parsed.error.message === 'string';
  } catch {
    return false;
  }
}
