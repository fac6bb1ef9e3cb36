import { type AddressInfo, type Server, type Socket, connect, createServer } from 'node:net';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { type TcpProxy, startTcpProxy } from './tcp-proxy.js';

let echo: Server;
let proxy: TcpProxy;
const sockets: Socket[] = [];

beforeEach(async () => {
  echo = createServer((socket) => socket.on('error', () => undefined).pipe(socket));
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  proxy = await startTcpProxy({ targetPort: (echo.address() as AddressInfo).port });
});

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await proxy.close();
  await new Promise<void>((resolve) => echo.close(() => resolve()));
});

function open(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(proxy.port, proxy.host);
    sockets.push(socket);
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Sends `text` and resolves with the echo, or 'silent' when nothing comes back within `ms`. */
function roundTrip(socket: Socket, text: string, ms = 300): Promise<string> {
  return new Promise((resolve) => {
    let got = '';
    const onData = (chunk: Buffer): void => {
      got += chunk.toString();
      if (got.length >= text.length) finish(got);
    };
    const timer = setTimeout(() => finish('silent'), ms);
    function finish(result: string): void {
      clearTimeout(timer);
      socket.off('data', onData);
      resolve(result);
    }
    socket.on('data', onData);
    socket.write(text);
  });
}

function closed(socket: Socket): Promise<string | undefined> {
  return new Promise((resolve) => {
    let code: string | undefined;
    socket.once('error', (error: NodeJS.ErrnoException) => (code = error.code));
    socket.once('close', () => resolve(code));
  });
}

describe('the TCP fault proxy', () => {
  it('forwards both ways', async () => {
    expect(await roundTrip(await open(), 'hello')).toBe('hello');
    expect(proxy.counters.connections).toBe(1);
  });

  it('reset sends an RST: the client sees ECONNRESET', async () => {
    const socket = await open();
    await roundTrip(socket, 'x');
    const ended = closed(socket);
    expect(proxy.reset()).toBe(1);
    expect(await ended).toBe('ECONNRESET');
  });

  it('a partial reset cuts each connection with its chance', async () => {
    await proxy.close();
    const picks = [0.1, 0.9, 0.2, 0.8];
    proxy = await startTcpProxy({
      targetPort: (echo.address() as AddressInfo).port,
      random: () => picks.shift() ?? 1,
    });
    const all = await Promise.all([open(), open(), open(), open()]);
    for (const socket of all) expect(await roundTrip(socket, 'x')).toBe('x');
    const ended = all.map((socket) => closed(socket));
    expect(proxy.reset({ share: 0.5 })).toBe(2);
    expect(await Promise.all([ended[0], ended[2]])).toEqual(['ECONNRESET', 'ECONNRESET']);
    expect(await roundTrip(all[1], 'still')).toBe('still');
    expect(await roundTrip(all[3], 'here')).toBe('here');
    expect(proxy.open()).toBe(2);
  });

  it('a labelled reset cuts only the connections whose first bytes carry the label', async () => {
    await proxy.close();
    proxy = await startTcpProxy({
      targetPort: (echo.address() as AddressInfo).port,
      label: (first) => first.toString().split(':')[0],
    });
    const [publish, claim] = await Promise.all([open(), open()]);
    expect(await roundTrip(publish, 'publish:hello')).toBe('publish:hello');
    expect(await roundTrip(claim, 'claim:hello')).toBe('claim:hello');
    const ended = closed(publish);
    expect(proxy.reset({ label: /^publish$/ })).toBe(1);
    expect(await ended).toBe('ECONNRESET');
    expect(await roundTrip(claim, 'still')).toBe('still');
  });

  it('blackhole keeps old connections open and silent while new ones work', async () => {
    const old = await open();
    expect(await roundTrip(old, 'before')).toBe('before');
    expect(proxy.blackhole()).toBe(1);
    expect(await roundTrip(old, 'after')).toBe('silent');
    expect(old.destroyed).toBe(false);
    expect(await roundTrip(await open(), 'fresh')).toBe('fresh');
    expect(proxy.open()).toBe(2);
  });

  it('refuses or silences new connections by mode, and heals', async () => {
    proxy.mode('refuse');
    const refused = connect(proxy.port, proxy.host);
    sockets.push(refused);
    expect(await closed(refused)).toBe('ECONNRESET');
    proxy.mode('blackhole');
    expect(await roundTrip(await open(), 'x')).toBe('silent');
    proxy.heal();
    expect(await roundTrip(await open(), 'y')).toBe('y');
  });

  it('adds latency each way', async () => {
    proxy.latency(100);
    const socket = await open();
    const started = Date.now();
    expect(await roundTrip(socket, 'slow', 2000)).toBe('slow');
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
  });

  it('caps bandwidth per direction', async () => {
    proxy.bandwidth(100_000);
    const socket = await open();
    const started = Date.now();
    const text = 'z'.repeat(50_000);
    expect((await roundTrip(socket, text, 5000)).length).toBe(text.length);
    // 50 kB at 100 kB/s takes 0.5 s each way through the same link pair.
    expect(Date.now() - started).toBeGreaterThanOrEqual(450);
  });
});
