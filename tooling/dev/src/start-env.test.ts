import { describe, expect, it } from 'vitest';

import { graphModulesFrom, parseStartEnv } from './start-env.js';

describe('pnpm start environment', () => {
  it('has defaults', () => {
    const parsed = parseStartEnv({});
    expect(parsed.ok && parsed.env).toMatchObject({
      HOST: '127.0.0.1',
      PORT: 3000,
      RUNSTREAM_PG_PORT: 54329,
    });
  });

  it('names the variable at fault', () => {
    expect(parseStartEnv({ PORT: '0x50' })).toEqual({
      ok: false,
      problem: 'PORT: must be a whole number from 1 to 65535',
    });
    expect(parseStartEnv({ PORT: '70000' })).toMatchObject({ ok: false });
    expect(parseStartEnv({ RUNSTREAM_PG_PORT: '0' })).toMatchObject({ ok: true });
  });
});

describe('graphModulesFrom', () => {
  it('makes relative module paths absolute from the caller and leaves package names alone', () => {
    expect(
      graphModulesFrom('/home/me/app', 'examples/echo-graph.mjs, ./g.js,@acme/graphs,/abs/x.mjs'),
    ).toBe('/home/me/app/examples/echo-graph.mjs,/home/me/app/g.js,@acme/graphs,/abs/x.mjs');
  });
});
