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
 * heartbeat or poll, or arrive together (a storm): they cost one query, not a thousand. Only
 * in-flight reads are shared (no cache). A caller that learned of an event (a bus message) joins
 * only a read that began after that moment (`freshAfter`), since an older one may not see the event;
 * when the read in flight is older, the caller joins the next read, which starts as soon as the one
 * in flight ends and serves everyone who queued meanwhile (at most one read in flight and one
 * waiting per page: a storm of arrivals costs a read per read's duration, not one per stream). In
 * published visibility the waiting read goes as far as the furthest `knownPublishedSeq` of those
 * who joined it, which is at least as far as each of them asked.
 */
export function coalesceReads(events: Pick<RunEventRepo, 'readPage'>): Required<StreamReads> {
  // One clock for tickets and read starts: JavaScript runs one thing at a time, so comparing
  // two numbers says which came first.
  let clock = 0;
  interface Entry {
    started: number;
    known: number | undefined;
    read: Promise<EventRow[]>;
  }
  interface Waiting {
    known: number | undefined;
    read: Promise<EventRow[]>;
  }
  const inFlight = new Map<string, Entry>();
  const waiting = new Map<string, Waiting>();
  const furthest = (a: number | undefined, b: number | undefined): number | undefined =>
    a === undefined ? b : b === undefined ? a : Math.max(a, b);

  const start = (
    key: string,
    runId: string,
    page: ReadPageOptions,
    known: number | undefined,
  ): Promise<EventRow[]> => {
    const entry: Entry = {
      started: ++clock,
      known,
      read: events.readPage(
        runId,
        known === undefined ? page : { ...page, knownPublishedSeq: known },
      ),
    };
    inFlight.set(key, entry);
    const forget = (): void => {
      if (inFlight.get(key) === entry) inFlight.delete(key);
    };
    entry.read.then(forget, forget);
    return entry.read;
  };

  return {
    ticket: () => ++clock,
    readPage(runId, options = {}) {
      const { freshAfter, knownPublishedSeq, ...page } = options;
      const key = `${runId}:${JSON.stringify(page)}`;
      const running = inFlight.get(key);
      if (!running) return start(key, runId, page, knownPublishedSeq);
      if (
        (freshAfter === undefined || running.started > freshAfter) &&
        (knownPublishedSeq ?? 0) <= (running.known ?? 0)
      )
        return running.read;
      // The read in flight cannot serve this caller: it joins the one that starts when it ends.
      let next = waiting.get(key);
      if (!next) {
        const queued: Waiting = {
          known: knownPublishedSeq,
          read: running.read
            .catch(() => undefined)
            .then(() => {
              waiting.delete(key);
              return start(key, runId, page, queued.known);
            }),
        };
        next = queued;
        waiting.set(key, next);
      } else next.known = furthest(next.known, knownPublishedSeq);
      return next.read;
    },
  };
}
