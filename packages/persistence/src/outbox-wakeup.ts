import type pg from 'pg';

import { query } from './database.js';
import { NOTIFY } from './sql/notify.js';

/** The channel on which appenders wake the outbox workers. Carries no payload. */
export const OUTBOX_WAKEUP_CHANNEL = 'runstream_outbox';

/**
 * Wakes the outbox workers after an append has committed. NOTIFY is sent on its own, outside the
 * transaction that wrote the events: a NOTIFY inside a write transaction takes a cluster-wide lock
 * at commit and serializes every such commit. Calls are coalesced (at most one NOTIFY in flight,
 * and one more queued behind it), and a lost wake-up only costs the workers' fallback poll.
 */
export function createOutboxWakeup(pool: pg.Pool) {
  let inFlight = false;
  let again = false;
  // An append that wakes the outbox from its own statement (ADR 0027), at most one at a time.
  let inlineInFlight = false;
  const send = (): void => {
    inFlight = true;
    again = false;
    query(pool, NOTIFY, [OUTBOX_WAKEUP_CHANNEL])
      .catch(() => undefined)
      .finally(() => {
        inFlight = false;
        if (again) send();
      });
  };
  return {
    /** Call after the commit of a transaction that appended events. Never throws, never waits. */
    notify(): void {
      if (inFlight) again = true;
      else send();
    },
    /**
     * Whether the next append may wake the outbox from its own statement (the repository's
     * `wakeOutbox`): only while no other wake-up of this process is on its way, since a NOTIFY
     * inside a write serializes its commit with every other notifying commit. When quiet this saves
     * a round trip and a process hop per event; when busy, appends commit in parallel and the
     * coalesced NOTIFY after them wakes the workers, which keep draining anyway. Returns the
     * function to call once that append settled, or undefined when it must not.
     */
    inline(): (() => void) | undefined {
      if (inlineInFlight || inFlight) return undefined;
      inlineInFlight = true;
      return () => void (inlineInFlight = false);
    },
  };
}

export type OutboxWakeup = ReturnType<typeof createOutboxWakeup>;
