import { z } from 'zod';

import { redactUrl } from './startup-error.js';

/** How the NATS bus authenticates: user and password, or a token. */
export type NatsCredentials = { user: string; pass: string } | { token: string };

/**
 * The live bus selected by RUNSTREAM_BUS. A NATS `url` never carries credentials: they travel
 * apart, in `credentials`, so that nothing that prints the url (a log line, an error) can leak them.
 */
export type BusConfig =
  | { kind: 'postgres' }
  | { kind: 'memory' }
  | { kind: 'nats'; url: string; credentials?: NatsCredentials };

const MESSAGE = 'must be postgres, memory, or nats://[user:password@ or token@]host:port';

/**
 * RUNSTREAM_BUS: `postgres` (default), `memory`, `nats://host:port`,
 * `nats://user:password@host:port` or `nats://token@host:port` (userinfo percent-encoded as in
 * any URL). A bad value is reported without echoing it, since it may hold a secret.
 */
export const busConfig = z
  .string()
  .optional()
  .transform((value, ctx): BusConfig => {
    if (value === undefined || value === '' || value === 'postgres') return { kind: 'postgres' };
    if (value === 'memory') return { kind: 'memory' };
    const nats = parseNatsUrl(value);
    if (nats) return nats;
    ctx.addIssue({ code: 'custom', message: MESSAGE });
    return z.NEVER;
  });

function parseNatsUrl(value: string): BusConfig | undefined {
  if (!/^nats:\/\/[^/\s]+$/.test(value) || !URL.canParse(value)) return undefined;
  const url = new URL(value);
  if (!url.hostname || url.search || url.hash) return undefined;
  const bare = `nats://${url.host}`;
  let user: string;
  let pass: string;
  try {
    user = decodeURIComponent(url.username);
    pass = decodeURIComponent(url.password);
  } catch {
    return undefined;
  }
  if (!user && !pass) return { kind: 'nats', url: bare };
  if (!user) return undefined;
  // `nats://secret@host` names a token; `nats://user:password@host` a user.
  const credentials: NatsCredentials = url.password ? { user, pass } : { token: user };
  return { kind: 'nats', url: bare, credentials };
}

/** Where the bus is, fit for a message: a NATS URL (never with credentials), else the kind. */
export function describeBus(config: BusConfig): string {
  return config.kind === 'nats' ? redactUrl(config.url) : config.kind;
}
