import { isIP } from 'node:net';

import { busConfig, databaseUrl, intFromEnv, loadEnv, logLevel } from '@runstream/runtime';
import { z } from 'zod';

import { type ApiKey, parseApiKeys } from './auth.js';

const apiKeys = z
  .string()
  .optional()
  .transform((value, ctx): ApiKey[] => {
    const parsed = parseApiKeys(value ?? '');
    if (parsed.ok) return parsed.keys;
    ctx.addIssue({ code: 'custom', message: parsed.problem });
    return z.NEVER;
  });

/** The named ranges of trusted proxies (as proxy-addr, which Fastify uses, knows them). */
const PROXY_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/**
 * Trusted proxies: addresses, CIDR ranges or named ranges. Deliberately no `true` (trust any peer)
 * and no hop count: both let a client that reaches the api directly choose its own address by
 * sending X-Forwarded-For, and so escape the per-address limits.
 */
const trustProxy = z
  .string()
  .optional()
  .transform((value, ctx): string[] => {
    const entries = (value ?? '')
      .split(',')
      .map((e) => e.trim())
      .filter(Boolean);
    for (const entry of entries) {
      const valid = PROXY_RANGES.has(entry) || isIP(entry) !== 0 || isCidr(entry);
      if (!valid) {
        ctx.addIssue({
          code: 'custom',
          message: `${JSON.stringify(entry)} is not an IP address, a CIDR range or one of loopback, linklocal, uniquelocal`,
        });
        return z.NEVER;
      }
    }
    return entries;
  });

/** `address/prefix`, with the address written out in full (net.isIP is strict, unlike inet_aton). */
function isCidr(value: string): boolean {
  const match = /^([^/]+)\/(\d{1,3})$/.exec(value);
  if (!match) return false;
  const family = isIP(match[1]!);
  return family !== 0 && Number(match[2]) <= (family === 4 ? 32 : 128);
}

/** Whether a listen address only accepts connections from this machine. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1' || host === '[::1]';
}

export const EnvSchema = z
  .object({
    DATABASE_URL: databaseUrl,
    HOST: z.string().min(1).default('127.0.0.1'),
    PORT: intFromEnv({ min: 0, max: 65535, default: 3000 }),
    RUNSTREAM_BUS: busConfig,
    RUNSTREAM_API_KEYS: apiKeys,
    RUNSTREAM_SSE_HEARTBEAT_MS: intFromEnv({ min: 100, max: 3_600_000, default: 15_000 }),
    RUNSTREAM_SSE_STALL_TIMEOUT_MS: intFromEnv({ min: 100, max: 3_600_000, default: 30_000 }),
    // What replay and gap fill read: only events the outbox has published, or every committed one.
    RUNSTREAM_SSE_REPLAY: z.enum(['published', 'committed']).default('published'),
    RUNSTREAM_RATE_LIMIT_MAX: intFromEnv({ min: 0, max: 1_000_000_000, default: 1200 }),
    RUNSTREAM_RATE_LIMIT_WINDOW_MS: intFromEnv({ min: 1, max: 86_400_000, default: 60_000 }),
    RUNSTREAM_TENANT_MAX_QUEUED: intFromEnv({ min: 1, max: 1_000_000_000, default: 1000 }),
    RUNSTREAM_TENANT_MAX_STREAMS: intFromEnv({ min: 1, max: 1_000_000_000, default: 1000 }),
    RUNSTREAM_EVENTS_PAGE_MAX_BYTES: intFromEnv({
      min: 1,
      max: 1_073_741_824,
      default: 4_194_304,
    }),
    RUNSTREAM_AUTH_FAILURES_PER_MINUTE: intFromEnv({ min: 1, max: 1_000_000_000, default: 60 }),
    RUNSTREAM_TRUST_PROXY: trustProxy,
    LOG_LEVEL: logLevel,
  })
  .superRefine((env, ctx) => {
    // Without keys every caller is the one tenant: that is only safe on this machine.
    if (env.RUNSTREAM_API_KEYS.length === 0 && !isLoopback(env.HOST)) {
      ctx.addIssue({
        code: 'custom',
        path: ['HOST'],
        message: `auth is off (RUNSTREAM_API_KEYS unset): refusing to listen on non-loopback ${env.HOST}`,
      });
    }
  });

export type Env = z.output<typeof EnvSchema>;

/** Parses the process environment once; a bad value exits 1 with one line naming it. */
export function readEnv(env: NodeJS.ProcessEnv = process.env): Env {
  return loadEnv(EnvSchema, env);
}
