import { createHash, timingSafeEqual } from 'node:crypto';

/** The tenant every request belongs to when auth is off (RUNSTREAM_API_KEYS unset or empty). */
export const DEFAULT_TENANT = 'default';

export interface ApiKey {
  tenant: string;
  key: string;
}

/** Who made a request: the tenant, and the key's id for rate limiting (never the key itself). */
export interface Principal {
  tenant: string;
  keyId: string;
}

/** Parses `tenant:key,tenant:key`; an empty string means auth off. */
export function parseApiKeys(
  value: string,
): { ok: true; keys: ApiKey[] } | { ok: false; problem: string } {
  const keys: ApiKey[] = [];
  const seen = new Set<string>();
  for (const pair of value
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const colon = pair.indexOf(':');
    const tenant = pair.slice(0, colon).trim();
    const key = pair.slice(colon + 1).trim();
    if (colon <= 0 || !tenant || !key)
      return { ok: false, problem: 'must be comma-separated tenant:key pairs' };
    if (key.length < 8)
      return { ok: false, problem: `the key of tenant ${tenant} is shorter than 8 characters` };
    // A bearer key is one header token: a space ends it and header bytes arrive as latin1, so a
    // key with spaces, control or non-ASCII characters could never match. Refused, not listened with.
    if (!/^[\x21-\x7e]+$/.test(key))
      return {
        ok: false,
        problem: `the key of tenant ${tenant} has characters no Authorization header can carry (use visible ASCII, no spaces)`,
      };
    if (seen.has(key)) return { ok: false, problem: `a key is listed twice (tenant ${tenant})` };
    seen.add(key);
    keys.push({ tenant, key });
  }
  return { ok: true, keys };
}

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/**
 * Resolves a bearer key to its principal. Keys are compared as SHA-256 digests with
 * timingSafeEqual, against every configured key without an early exit, so neither the length
 * nor the position of a match shows in the response time. Returns undefined for a wrong key.
 */
export function createAuthenticator(keys: readonly ApiKey[]) {
  const entries = keys.map((k, i) => ({
    tenant: k.tenant,
    keyId: `${k.tenant}#${i}`,
    digest: digest(k.key),
  }));
  return {
    enabled: entries.length > 0,
    authenticate(authorization: string | undefined): Principal | undefined {
      if (entries.length === 0) return { tenant: DEFAULT_TENANT, keyId: DEFAULT_TENANT };
      const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization ?? '');
      const given = digest(match?.[1] ?? '');
      let found: Principal | undefined;
      for (const entry of entries) {
        if (timingSafeEqual(given, entry.digest) && match)
          found = { tenant: entry.tenant, keyId: entry.keyId };
      }
      return found;
    },
  };
}
