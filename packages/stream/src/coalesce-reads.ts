import type { EventRow, ReadPageOptions, RunEventRepo } from '@runstream/persistence';

export interface StreamReadOptions extends ReadPageOptions {
  /**
   * A ticket (from `ticket()`) taken when the caller learned that an event exists: only a read
   * that starts after it may answer, since an older one can have missed that event.
   */
  freshAfter?: number;
}

/** The reads a stream makes: pages of a run's events, possibly shared with other streams. */
export interface StreamReads {
  readPage(runId: string, options?: StreamReadOptions): Promise<EventRow[]>;
  /** Marks "now" on the reads' clock, for `freshAfter`; absent when reads are never shared. */
  ticket?(): number;
}

/**
 * Shares one database read among the streams that ask for the same page at the same time. A
 * thousand clients on one run catch up from the same seq after a lost message, at the same
 * heartbeat or poll: they cost one query, not a thousand. Only in-flight reads are shared (no
 * cache), and a caller that learned of an event (a bus message) joins only a read that began
 * after that moment (`freshAfter`): a read that began earlier may not see the event, and the
 * caller, whose need was already spent, would wait for the next heartbeat.
 */
export function coalesceReads(events: Pick<RunEventRepo, 'readPage'>): Required<StreamReads> {
  // One clock for tickets and read starts: JavaScript runs one thing at a time, so comparing
  // two numbers says which came first.
  let clock = 0;
  const inFlight = new Map<string, { started: number; read: Promise<EventRow[]> }>();
  return {
    ticket: () => ++clock,
    readPage(runId, options = {}) {
      const { freshAfter, ...page } = options;
      const key = `${runId}:${JSON.stringify(page)}`;
      const pending = inFlight.get(key);
      if (pending && (freshAfter === undefined || pending.started > freshAfter))
        return pending.read;
      // Callers from now on join this newer read; the older one still answers its own callers.
      const entry = { started: ++clock, read: events.readPage(runId, page) };
      inFlight.set(key, entry);
      const forget = (): void => {
        if (inFlight.get(key) === entry) inFlight.delete(key);
      };
      entry.read.then(forget, forget);
      return entry.read;
    },
  };
}
