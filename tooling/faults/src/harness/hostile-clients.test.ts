import { type Server, type ServerOptions, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import { floodWrongKeys, startSlowloris } from './hostile-clients.js';

let server: Server | undefined;

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

async function listen(options: ServerOptions = {}): Promise<number> {
  // Five wrong keys, then throttled: what the api is asked to do, in miniature.
  let failures = 0;
  server = createServer(options, (_req, res) => {
    const limited = ++failures > 5;
    res.statusCode = limited ? 429 : 401;
    if (limited) res.setHeader('retry-after', '60');
    const code = limited ? 'RATE_LIMITED' : 'UNAUTHORIZED';
    res.end(JSON.stringify({ error: { code, message: 'no' } }));
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

describe('slowloris', () => {
  it('sees a server that bounds the time a head may take close every socket', async () => {
    const port = await listen({
      headersTimeout: 500,
      requestTimeout: 800,
      connectionsCheckingInterval: 100,
    });
    const slow = startSlowloris({
      port,
      sockets: 5,
      part: 'head',
      localAddress: '127.0.0.3',
      trickleMs: 100,
    });
    const result = await slow.finish(5000);
    expect(result.closedAfterMs.every((ms) => ms !== undefined && ms < 3000)).toBe(true);
  });

  it('reports every socket still open when the server has no bound (trickling defeats idle timers)', async () => {
    const port = await listen({ requestTimeout: 0, headersTimeout: 0, keepAliveTimeout: 200 });
    const slow = startSlowloris({
      port,
      sockets: 3,
      part: 'body',
      localAddress: '127.0.0.4',
      apiKey: 'k',
      trickleMs: 100,
    });
    const result = await slow.finish(1000);
    expect(result.closedAfterMs).toEqual([undefined, undefined, undefined]);
  });
});

describe('wrong-key flood', () => {
  it('counts answers by status and checks their shape until the signal aborts', async () => {
    const port = await listen();
    const result = await floodWrongKeys({
      apiUrl: `http://127.0.0.1:${port}`,
      localAddress: '127.0.0.2',
      concurrency: 2,
      ratePerSecond: 200,
      signal: AbortSignal.timeout(300),
    });
    expect(result.requests).toBeGreaterThan(10);
    // 200 a second for 0.3 s: the cap holds (with one request in flight per worker to spare).
    expect(result.requests).toBeLessThan(80);
    expect(result.statuses[401]).toBe(5);
    expect(result.statuses[429]).toBe(result.requests - 5);
    expect(result.retryAfter).toBe(true);
    expect(result.badShapes).toEqual([]);
  });
});
