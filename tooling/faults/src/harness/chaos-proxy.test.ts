import { describe, expect, it } from 'vitest';

import { natsFramer, postgresFramer } from './chaos-proxy.js';

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
