import { describe, expect, it } from 'vitest';

import { createDatabaseHealth } from './database-health.js';

function recorder() {
  const lines: { level: string; fields: Record<string, unknown>; message: string }[] = [];
  const at =
    (level: string) =>
    (fields: object, message: string): void =>
      void lines.push({ level, fields: fields as Record<string, unknown>, message });
  return { lines, logger: { info: at('info'), warn: at('warn'), error: at('error') } };
}

describe('createDatabaseHealth', () => {
  it('row 97: one warning per outage, without a stack, and one line when it is back', () => {
    const { lines, logger } = recorder();
    const health = createDatabaseHealth(logger);
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), {
      code: 'ECONNREFUSED',
    });
    for (let i = 0; i < 50; i++) health.failed(refused, i % 2 ? 'claim' : 'reap');
    expect(health.down).toBe(true);
    health.ok();
    health.ok();
    health.failed(refused, 'heartbeat');
    expect(lines.map((l) => [l.level, l.message.split(':')[0]])).toEqual([
      ['warn', 'database unreachable'],
      ['info', 'database reachable again'],
      ['warn', 'database unreachable'],
    ]);
    expect(lines[0]!.fields).toEqual({
      where: 'reap',
      reason: { message: 'connect ECONNREFUSED 127.0.0.1:5432', code: 'ECONNREFUSED' },
    });
  });

  it('logs every failure that is not an outage, with the error', () => {
    const { lines, logger } = recorder();
    const health = createDatabaseHealth(logger);
    const bug = Object.assign(new Error('syntax error'), { code: '42601' });
    health.failed(bug, 'claim');
    health.failed(bug, 'claim');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({
      level: 'error',
      message: 'claim failed',
      fields: { err: bug },
    });
    expect(health.down).toBe(false);
  });
});
