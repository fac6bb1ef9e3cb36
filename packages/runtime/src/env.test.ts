import { describe, expect, it } from 'vitest';
import { z } from 'zod';

import { busConfig } from './bus-config.js';
import { databaseUrl, formatEnvError, intFromEnv } from './env.js';

const schema = z.object({
  DATABASE_URL: databaseUrl,
  RUNSTREAM_BUS: busConfig,
  PORT: intFromEnv({ min: 0, max: 65535, default: 3000 }),
});

function problem(env: Record<string, string>): string {
  const result = schema.safeParse(env);
  if (result.success) throw new Error('expected a failure');
  return formatEnvError(result.error);
}

describe('environment parsing', () => {
  it('applies defaults and parses the bus', () => {
    expect(schema.parse({ DATABASE_URL: 'postgres://u@h/db' })).toEqual({
      DATABASE_URL: 'postgres://u@h/db',
      RUNSTREAM_BUS: { kind: 'postgres' },
      PORT: 3000,
    });
    expect(
      schema.parse({ DATABASE_URL: 'postgresql://h/db', RUNSTREAM_BUS: 'nats://127.0.0.1:4222' })
        .RUNSTREAM_BUS,
    ).toEqual({
      kind: 'nats',
      url: 'nats://127.0.0.1:4222',
    });
    expect(
      schema.parse({ DATABASE_URL: 'postgres://h/db', RUNSTREAM_BUS: 'memory' }).RUNSTREAM_BUS,
    ).toEqual({ kind: 'memory' });
  });

  it('names the variable at fault in one line', () => {
    expect(problem({})).toMatch(/^DATABASE_URL: /);
    expect(problem({ DATABASE_URL: 'mysql://h/db' })).toBe(
      'DATABASE_URL: must be a postgres:// or postgresql:// URL',
    );
    expect(problem({ DATABASE_URL: 'postgres://h/db', PORT: '70000' })).toBe(
      'PORT: must be a whole number from 0 to 65535',
    );
    expect(problem({ DATABASE_URL: 'postgres://h/db', PORT: '1.5' })).toMatch(/^PORT: /);
    expect(problem({ DATABASE_URL: 'postgres://h/db', RUNSTREAM_BUS: 'kafka' })).toBe(
      'RUNSTREAM_BUS: must be postgres, memory, or nats://[user:password@ or token@]host:port',
    );
    expect(problem({ DATABASE_URL: 'postgres://h/db', RUNSTREAM_BUS: 'nats://' })).toMatch(
      /^RUNSTREAM_BUS: /,
    );
  });

  it.each(['0x50', '1e3', '8.0', '+80', ' 80', '80 ', '-0', '0b1010', '0o17', '１２'])(
    '3 (row 89): %j is not a whole number in decimal digits, and is refused',
    (value) => {
      expect(problem({ DATABASE_URL: 'postgres://h/db', PORT: value })).toBe(
        'PORT: must be a whole number from 0 to 65535',
      );
    },
  );

  it('reads decimal digits, leading zeros included', () => {
    expect(schema.parse({ DATABASE_URL: 'postgres://h/db', PORT: '0' }).PORT).toBe(0);
    expect(schema.parse({ DATABASE_URL: 'postgres://h/db', PORT: '08080' }).PORT).toBe(8080);
    expect(problem({ DATABASE_URL: 'postgres://h/db', PORT: '99999999999999999999' })).toMatch(
      /^PORT: /,
    );
  });
});
