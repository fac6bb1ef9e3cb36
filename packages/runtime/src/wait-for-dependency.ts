import { setTimeout as sleep } from 'node:timers/promises';

import { reasonOf } from './startup-error.js';

/** Something a process needs before it can work: its database, its bus. */
export interface Dependency {
  /** Names it in logs and in /readyz: `database`, `bus`. */
  readonly name: string;
  /** The variable that points at it, so that an operator knows what to look at. */
  readonly variable: string;
  /** Settles when the dependency answered: resolves (with anything but `false`) when it works. */
  check(): Promise<unknown>;
}

/** The slice of a pino logger this module uses. */
export interface DependencyLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

class NoAnswer extends Error {
  override readonly name = 'NoAnswer';
}

/**
 * Runs a dependency's check under a deadline, and rejects unless it resolved in time with anything
 * but `false`. The deadline matters more than the check: a connection that went silent (a dead NAT
 * entry, a blackholed host) never answers and never fails, for minutes.
 */
export async function probe(dependency: Dependency, timeoutMs: number): Promise<void> {
  const deadline = new AbortController();
  try {
    const answer = await Promise.race([
      dependency.check(),
      sleep(timeoutMs, undefined, { signal: deadline.signal }).then(() => {
        throw new NoAnswer(`no answer within ${timeoutMs} ms`);
      }),
    ]);
    if (answer === false) throw new NoAnswer('it answered that it is down');
  } finally {
    deadline.abort();
  }
}

export interface WaitForDependencyOptions {
  logger: DependencyLogger;
  /** Stops the wait: the process is shutting down. */
  signal?: AbortSignal;
  /**
   * How long one check may take before it counts as unanswered; short enough that the first
   * complaint is logged within the contract's 5 s.
   * @default 3000
   */
  checkTimeoutMs?: number;
  /**
   * First pause between two checks; it doubles, with jitter, up to `maxDelayMs`.
   * @default 250
   */
  minDelayMs?: number;
  /** @default 5000 */
  maxDelayMs?: number;
  /**
   * While the dependency stays unreachable, how often that is logged again (one line, not one per try).
   * @default 30000
   */
  repeatLogMs?: number;
}

/**
 * Waits until a dependency answers, trying again with backoff and jitter for as long as it takes
 * (an orchestrator may start the process before its database). The first failure is logged at once,
 * in one line that names the variable and the reason and carries no stack, so that an operator sees
 * within seconds why the process does nothing; it is repeated every `repeatLogMs`, not at every try.
 *
 * Resolves `true` once the dependency answered, `false` when the signal aborted first.
 */
export async function waitForDependency(
  dependency: Dependency,
  options: WaitForDependencyOptions,
): Promise<boolean> {
  const { logger, signal } = options;
  const checkTimeoutMs = options.checkTimeoutMs ?? 3000;
  const maxDelayMs = options.maxDelayMs ?? 5000;
  const repeatLogMs = options.repeatLogMs ?? 30_000;
  const fields = { dependency: dependency.name, variable: dependency.variable };
  let delay = options.minDelayMs ?? 250;
  let attempts = 0;
  let loggedAt: number | undefined;
  while (!signal?.aborted) {
    attempts++;
    try {
      await probe(dependency, checkTimeoutMs);
      if (signal?.aborted) break;
      if (loggedAt !== undefined)
        logger.info({ ...fields, attempts }, `${dependency.name} reachable again`);
      return true;
    } catch (error) {
      if (loggedAt === undefined || Date.now() - loggedAt >= repeatLogMs) {
        loggedAt = Date.now();
        logger.warn(
          { ...fields, reason: reasonOf(error), attempts },
          `${dependency.name} unreachable (${dependency.variable}); retrying`,
        );
      }
    }
    // Jitter spreads the retries of replicas that lost the dependency at the same moment.
    const pause = delay / 2 + (Math.random() * delay) / 2;
    delay = Math.min(delay * 2, maxDelayMs);
    await sleep(pause, undefined, { signal }).catch(() => undefined);
  }
  return false;
}
