import { describe, expect, it } from 'vitest';
import { z } from 'zod';

import { busConfig } from './bus-config.js';
import { formatEnvError } from './env.js';

const schema = z.object({ RUNSTREAM_BUS: busConfig });
const parse = (value: string) => schema.parse({ RUNSTREAM_BUS: value }).RUNSTREAM_BUS;
function problem(value: string): string {
  const result = schema.safeParse({ RUNSTREAM_BUS: value });
  if (result.success) throw new Error(`expected ${value} to be refused`);
  return formatEnvError(result.error);
}

describe('RUNSTREAM_BUS', () => {
  it('takes postgres (the default), memory and nats://host:port', () => {
    expect(schema.parse({}).RUNSTREAM_BUS).toEqual({ kind: 'postgres' });
    expect(parse('postgres')).toEqual({ kind: 'postgres' });
    expect(parse('memory')).toEqual({ kind: 'memory' });
    expect(parse('nats://127.0.0.1:4222')).toEqual({ kind: 'nats', url: 'nats://127.0.0.1:4222' });
  });

  it('takes NATS credentials: user and password, or a token, kept out of the url', () => {
    expect(parse('nats://runstream:s3cret@nats.internal:4222')).toEqual({
      kind: 'nats',
      url: 'nats://nats.internal:4222',
      credentials: { user: 'runstream', pass: 's3cret' },
    });
    expect(parse('nats://t0ken@127.0.0.1:4222')).toEqual({
      kind: 'nats',
      url: 'nats://127.0.0.1:4222',
      credentials: { token: 't0ken' },
    });
    // Reserved characters are percent-encoded, as in any URL.
    expect(parse('nats://us%40er:p%3Ass%2Fw%25rd@127.0.0.1:4222')).toMatchObject({
      credentials: { user: 'us@er', pass: 'p:ss/w%rd' },
    });
  });

  it('refuses anything else with one line that names the variable and never echoes the value', () => {
    for (const value of [
      'nats',
      'redis://127.0.0.1:6379',
      'nats://',
      'nats://:only-a-password@127.0.0.1:4222',
      'nats://u:p@127.0.0.1:4222/path',
      'nats://u:%E0%A4%A@127.0.0.1:4222',
      'nats://u:p@127.0.0.1:4222?x=1',
    ]) {
      const line = problem(value);
      expect(line).toBe(
        'RUNSTREAM_BUS: must be postgres, memory, or nats://[user:password@ or token@]host:port',
      );
    }
  });
});
