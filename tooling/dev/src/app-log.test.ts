import { describe, expect, it } from 'vitest';

import { createAppLog } from './app-log.js';

describe("an app's log lines", () => {
  it('prettifies pino JSON under the app name and passes other lines through', () => {
    const out: string[] = [];
    const log = createAppLog('api', 'cyan', { colorize: false, write: (t) => out.push(t) });
    log(JSON.stringify({ level: 30, time: 0, pid: 1, name: 'api', msg: 'listening', port: 3000 }));
    log('a plain line');
    log('');
    expect(out).toHaveLength(2);
    expect(out[0]).toMatch(
      /^\[api\]\s+\[\d\d:\d\d:\d\d\.\d{3}\] INFO: listening \{"port":3000\}\n$/,
    );
    expect(out[1]).toBe(`${'[api]'.padEnd(16)} a plain line\n`);
  });
});
