import { describe, expect, it } from 'vitest';

import { DEFAULT_TENANT, createAuthenticator } from './auth.js';

describe('createAuthenticator', () => {
  const auth = createAuthenticator([
    { tenant: 'acme', key: 'acme-key-0001' },
    { tenant: 'globex', key: 'globex-key-0002' },
  ]);

  it('maps each key to its tenant', () => {
    expect(auth.authenticate('Bearer acme-key-0001')).toEqual({ tenant: 'acme', keyId: 'acme#0' });
    expect(auth.authenticate('bearer globex-key-0002')).toEqual({
      tenant: 'globex',
      keyId: 'globex#1',
    });
  });

  it.each([
    undefined,
    '',
    'Bearer',
    'Bearer acme-key-000',
    'Bearer acme-key-00011',
    'Basic acme-key-0001',
    'acme-key-0001',
    'Bearer a b',
  ])('refuses %j', (header) => {
    expect(auth.authenticate(header)).toBeUndefined();
  });

  it('puts every request in the default tenant when auth is off', () => {
    const off = createAuthenticator([]);
    expect(off.enabled).toBe(false);
    expect(off.authenticate(undefined)).toEqual({ tenant: DEFAULT_TENANT, keyId: DEFAULT_TENANT });
  });
});
