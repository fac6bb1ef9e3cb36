import { describe, expect, it } from 'vitest';

import { postgresApplicationName } from './postgres-application-name.js';

function startup(params: Record<string, string>): Buffer {
  const body = Buffer.from(
    `${Object.entries(params)
      .map(([k, v]) => `${k}\0${v}\0`)
      .join('')}\0`,
  );
  const head = Buffer.alloc(8);
  head.writeInt32BE(8 + body.length, 0);
  head.writeInt32BE(0x30000, 4);
  return Buffer.concat([head, body]);
}

describe('postgresApplicationName', () => {
  it('reads application_name from a startup message', () => {
    expect(
      postgresApplicationName(
        startup({ user: 'postgres', database: 'runstream', application_name: 'runstream-api' }),
      ),
    ).toBe('runstream-api');
  });

  it('is undefined without one, and for an SSL request', () => {
    expect(postgresApplicationName(startup({ user: 'postgres' }))).toBeUndefined();
    const ssl = Buffer.alloc(8);
    ssl.writeInt32BE(8, 0);
    ssl.writeInt32BE(80877103, 4);
    expect(postgresApplicationName(ssl)).toBeUndefined();
  });
});
