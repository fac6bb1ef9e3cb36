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
