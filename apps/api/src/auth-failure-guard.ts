import ipaddr from 'ipaddr.js';
import { RateLimiterMemory } from 'rate-limiter-flexible';

export interface AuthFailureGuardOptions {
  /** Failed authentications one client address may make per window. */
  maxFailures: number;
  /** @default 60000 */
  windowMs?: number;
}

/**
 * The key a client address is counted under. An IPv6 host usually holds a whole /64 and can pick
 * any address in it, so IPv6 counts by /64; an IPv4-mapped IPv6 address counts as its IPv4.
 */
function clientAddressKey(address: string): string {
  if (!ipaddr.isValid(address)) return address;
  const parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv4') return parsed.toString();
  const v6 = parsed as ipaddr.IPv6;
  if (v6.isIPv4MappedAddress()) return v6.toIPv4Address().toString();
  const prefix = new ipaddr.IPv6([...v6.parts.slice(0, 4), 0, 0, 0, 0]);
  return `${prefix.toString()}/64`;
}

/**
 * Counts failed authentications per client address in a fixed window, in this process's memory:
 * key guessing is throttled before any key is checked, while successes cost nothing. Each api
 * process counts on its own, so N processes allow N times the limit; that still turns thousands of
 * guesses a second into a handful a minute.
 */
export function createAuthFailureGuard(options: AuthFailureGuardOptions) {
  const windowMs = options.windowMs ?? 60_000;
  const limiter = new RateLimiterMemory({
    points: options.maxFailures,
    duration: windowMs / 1000,
  });
  return {
    /** Seconds until the address may try again, or undefined while it may try now. */
    async blockedFor(address: string): Promise<number | undefined> {
      const state = await limiter.get(clientAddressKey(address));
      if (!state || state.consumedPoints < options.maxFailures) return undefined;
      return Math.max(1, Math.ceil(state.msBeforeNext / 1000));
    },
    /** Counts one failed authentication from the address. */
    async failed(address: string): Promise<void> {
      await limiter.penalty(clientAddressKey(address), 1);
    },
  };
}
