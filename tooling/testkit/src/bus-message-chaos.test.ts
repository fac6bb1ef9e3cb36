import { type AddressInfo, type Server, type Socket, connect, createServer } from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import { createBusMessageChaos, natsFramer, postgresFramer } from './bus-message-chaos.js';
import { type TcpProxy, startTcpProxy } from './tcp-proxy.js';

function pgMessage(type: string, body: string): Buffer {
  const payload = Buffer.from(body);
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(4 + payload.length, 1);
  return Buffer.concat([head, payload]);
}

describe('postgresFramer', () => {
  it('splits backend messages, marks only NotificationResponse, and keeps a partial tail', () => {
    const stream = Buffer.concat([
      pgMessage('Z', 'I'),
      pgMessage('A', 'run_x\0{"seq":1}\0'),
      pgMessage('D', 'row'),
    ]);
    const cut = stream.length - 3;
    const first = postgresFramer(stream.subarray(0, cut));
    expect(first.frames.map((f) => [f.bytes.toString('latin1', 0, 1), f.busMessage])).toEqual([
      ['Z', false],
      ['A', true],
    ]);
    const second = postgresFramer(Buffer.concat([first.rest, stream.subarray(cut)]));
    expect(second.frames.map((f) => f.bytes.toString('latin1', 0, 1))).toEqual(['D']);
    expect(second.rest.length).toBe(0);
  });
});

describe('natsFramer', () => {
  it('takes MSG payloads whole, even with CRLF inside, and marks only bus subjects', () => {
    const payload = 'a\r\nb';
    const stream = Buffer.from(
      `PING\r\nMSG runstream.runs.r1 1 ${payload.length}\r\n${payload}\r\nMSG _INBOX.x 2 2\r\nok\r\nHMSG runstream.runs.r2 3 12 14\r\nNATS/1.0\r\n\r\nhi\r\n`,
    );
    for (let cut = 1; cut < stream.length; cut += 7) {
      const a = natsFramer()(stream.subarray(0, cut));
      const b = natsFramer()(Buffer.concat([a.rest, stream.subarray(cut)]));
      const frames = [...a.frames, ...b.frames];
      expect(frames.map((f) => f.busMessage)).toEqual([false, true, false, true]);
      expect(Buffer.concat(frames.map((f) => f.bytes)).equals(stream)).toBe(true);
    }
  });
});

describe('bus message chaos on the TCP proxy', () => {
  let server: Server | undefined;
  let proxy: TcpProxy | undefined;
  let socket: Socket | undefined;

  afterEach(async () => {
    socket?.destroy();
    await proxy?.close();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  });

  /** A server that sends `stream` one byte at a time (frames split anywhere), then ends. */
  async function receiveThrough(
    stream: Buffer,
    rates: { drop: number; duplicate: number },
  ): Promise<{ received: Buffer; counters: object }> {
    server = createServer((s) => {
      s.on('error', () => undefined);
      let i = 0;
      const next = (): void => {
        if (i === stream.length) return void s.end();
        s.write(stream.subarray(i, ++i), next);
      };
      next();
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const chaos = createBusMessageChaos({ protocol: 'postgres', random: () => 0.5 });
    Object.assign(chaos.rates, rates);
    proxy = await startTcpProxy({
      targetPort: (server.address() as AddressInfo).port,
      filter: { toClient: chaos.filter },
    });
    const received = await new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      socket = connect(proxy!.port, proxy!.host);
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.on('end', () => resolve(Buffer.concat(chunks)));
      socket.on('error', reject);
    });
    return { received, counters: { ...chaos.counters } };
  }

  const stream = Buffer.concat([
    pgMessage('Z', 'I'),
    pgMessage('A', 'one'),
    pgMessage('D', 'row'),
    pgMessage('A', 'two'),
  ]);

  it('drops every bus message at rate 1 and passes the rest byte for byte', async () => {
    const { received, counters } = await receiveThrough(stream, { drop: 1, duplicate: 0 });
    expect(received.equals(Buffer.concat([pgMessage('Z', 'I'), pgMessage('D', 'row')]))).toBe(true);
    expect(counters).toEqual({ busMessages: 2, dropped: 2, duplicated: 0 });
  });

  it('repeats every bus message at rate 1', async () => {
    const { received, counters } = await receiveThrough(stream, { drop: 0, duplicate: 1 });
    const one = pgMessage('A', 'one');
    const two = pgMessage('A', 'two');
    expect(
      received.equals(
        Buffer.concat([pgMessage('Z', 'I'), one, one, pgMessage('D', 'row'), two, two]),
      ),
    ).toBe(true);
    expect(counters).toEqual({ busMessages: 2, dropped: 0, duplicated: 2 });
  });

  it('passes everything untouched at rate 0', async () => {
    const { received } = await receiveThrough(stream, { drop: 0, duplicate: 0 });
    expect(received.equals(stream)).toBe(true);
  });
});
