import { formatEnvError } from '@runstream/runtime';
import { describe, expect, it } from 'vitest';

import { EnvSchema, isLoopback } from './env.js';

const base = { DATABASE_URL: 'postgres://u@h/db' };

function problem(env: Record<string, string>): string {
  const result = EnvSchema.safeParse(env);
  if (result.success) throw new Error('expected a failure');
  return formatEnvError(result.error);
}

describe('api environment', () => {
  it('applies the contract defaults', () => {
    expect(EnvSchema.parse(base)).toMatchObject({
      HOST: '127.0.0.1',
      PORT: 3000,
      RUNSTREAM_BUS: { kind: 'postgres' },
      RUNSTREAM_API_KEYS: [],
      RUNSTREAM_SSE_HEARTBEAT_MS: 15_000,
      RUNSTREAM_SSE_STALL_TIMEOUT_MS: 30_000,
      RUNSTREAM_SSE_REPLAY: 'published',
      RUNSTREAM_RATE_LIMIT_MAX: 1200,
      RUNSTREAM_RATE_LIMIT_WINDOW_MS: 60_000,
      RUNSTREAM_TENANT_MAX_QUEUED: 1000,
      RUNSTREAM_TENANT_MAX_STREAMS: 1000,
      RUNSTREAM_EVENTS_PAGE_MAX_BYTES: 4_194_304,
      RUNSTREAM_AUTH_FAILURES_PER_MINUTE: 60,
      RUNSTREAM_TRUST_PROXY: [],
      LOG_LEVEL: 'info',
    });
  });

  it.each([
    'RUNSTREAM_TENANT_MAX_QUEUED',
    'RUNSTREAM_TENANT_MAX_STREAMS',
    'RUNSTREAM_EVENTS_PAGE_MAX_BYTES',
    'RUNSTREAM_AUTH_FAILURES_PER_MINUTE',
  ])('%s is a positive whole number', (name) => {
    expect(EnvSchema.parse({ ...base, [name]: '7' })).toMatchObject({ [name]: 7 });
    for (const bad of ['0', '-1', 'many'])
      expect(problem({ ...base, [name]: bad })).toMatch(new RegExp(`^${name}: `));
  });

  it('RUNSTREAM_TRUST_PROXY takes addresses, CIDR ranges and the named ranges, nothing looser', () => {
    expect(
      EnvSchema.parse({ ...base, RUNSTREAM_TRUST_PROXY: ' 10.0.0.0/8, ::1 ,loopback,192.168.1.7' })
        .RUNSTREAM_TRUST_PROXY,
    ).toEqual(['10.0.0.0/8', '::1', 'loopback', '192.168.1.7']);
    for (const bad of ['true', '*', '2', 'proxy.local', '10.0.0.0/33', '::1/129'])
      expect(problem({ ...base, RUNSTREAM_TRUST_PROXY: bad })).toMatch(/^RUNSTREAM_TRUST_PROXY: /);
  });

  it.each([
    ['a space', 'acme:key with spaces 123'],
    ['non-ASCII', 'globex:ключ-юникод-1'],
    ['a control character', 'acme:key-0001\u0007x'],
  ])('row 94: refuses a key with %s, which no Authorization header can carry', (_name, keys) => {
    const message = problem({ ...base, RUNSTREAM_API_KEYS: keys });
    expect(message).toMatch(/^RUNSTREAM_API_KEYS: /);
    expect(message.split('\n')).toHaveLength(1);
    expect(message).not.toContain('key with');
    expect(message).not.toContain('ключ');
  });

  it('parses tenant:key pairs', () => {
    expect(
      EnvSchema.parse({ ...base, RUNSTREAM_API_KEYS: ' acme:key-00001 , globex:key-00002' })
        .RUNSTREAM_API_KEYS,
    ).toEqual([
      { tenant: 'acme', key: 'key-00001' },
      { tenant: 'globex', key: 'key-00002' },
    ]);
    expect(EnvSchema.parse({ ...base, RUNSTREAM_API_KEYS: '' }).RUNSTREAM_API_KEYS).toEqual([]);
  });

  it.each(['nocolon', ':key-00001', 'acme:', 'acme:short', 'a:key-00001,b:key-00001'])(
    'refuses RUNSTREAM_API_KEYS=%j',
    (keys) => {
      expect(problem({ ...base, RUNSTREAM_API_KEYS: keys })).toMatch(/^RUNSTREAM_API_KEYS: /);
    },
  );

  it('refuses a non-loopback HOST with auth off, and allows it with keys', () => {
    expect(problem({ ...base, HOST: '0.0.0.0' })).toMatch(/^HOST: auth is off/);
    expect(problem({ ...base, HOST: '10.0.0.5' })).toMatch(/^HOST: /);
    expect(
      EnvSchema.parse({ ...base, HOST: '0.0.0.0', RUNSTREAM_API_KEYS: 'acme:key-00001' }).HOST,
    ).toBe('0.0.0.0');
    expect(EnvSchema.parse({ ...base, HOST: 'localhost' }).HOST).toBe('localhost');
  });

  it('knows loopback addresses', () => {
    expect(['127.0.0.1', '127.1.2.3', '::1', 'localhost'].every(isLoopback)).toBe(true);
    expect(['0.0.0.0', '::', '192.168.1.1', 'example.com'].some(isLoopback)).toBe(false);
  });

  it('takes RUNSTREAM_SSE_REPLAY=committed and names any other value', () => {
    expect(EnvSchema.parse({ ...base, RUNSTREAM_SSE_REPLAY: 'committed' })).toMatchObject({
      RUNSTREAM_SSE_REPLAY: 'committed',
    });
    expect(problem({ ...base, RUNSTREAM_SSE_REPLAY: 'all' })).toMatch(/^RUNSTREAM_SSE_REPLAY: /);
  });

  it('names a bad heartbeat', () => {
    expect(problem({ ...base, RUNSTREAM_SSE_HEARTBEAT_MS: 'often' })).toMatch(
      /^RUNSTREAM_SSE_HEARTBEAT_MS: /,
    );
  });
});
