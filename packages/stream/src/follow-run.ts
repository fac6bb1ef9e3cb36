import type { Bus, BusMessage, SubscriptionHandlers } from '@runstream/bus';
import { type RunEventEnvelope, isTerminalType } from '@runstream/events';
import { type EventRow, type EventVisibility, MAX_SEQ, toEnvelope } from '@runstream/persistence';

import type { StreamReads } from './coalesce-reads.js';

// Rows shared by coalesced reads become one envelope each, so their SSE frame is built once too.
const envelopes = new WeakMap<EventRow, RunEventEnvelope>();
function envelopeOf(row: EventRow): RunEventEnvelope {
  let envelope = envelopes.get(row);
  if (!envelope) {
    envelope = toEnvelope(row);
    envelopes.set(row, envelope);
  }
  return envelope;
}

export interface FollowRunDeps {
  bus: Bus;
  /** The repository's readPage, or reads shared among streams (coalesceReads). */
  events: StreamReads;
  /**
   * The seq of the run's terminal event, or undefined while it runs. Asked when a database read
   * finds nothing new: a stream whose start point is already past the end has no terminal event
   * left to send, and ends on this answer instead of waiting for ever.
   */
  terminalSeq?(runId: string): Promise<number | undefined>;
}

export interface FollowRunOptions {
  runId: string;
  /** The last seq the consumer already has: the first event yielded is `afterSeq + 1`. */
  afterSeq: number;
  /** Ends the iteration (client gone, server shutting down); the subscription is closed. */
  signal: AbortSignal;
  /**
   * What replay and gap fill read. `published`: only events the outbox has published (up to the
   * run's published mark, or to the highest seq the bus announced), so that nothing a client
   * sees is ahead of the bus. `committed`: every committed event, sooner, and also while the
   * outbox is down.
   * @default 'published'
   */
  replay?: EventVisibility;
  /**
   * Events read from the database per query.
   * @default 500
   */
  pageSize?: number;
  /**
   * Bytes of event data read from the database per query, on top of `pageSize`: a page ends early
   * once its events reach it (see readPage's `maxBytes`), so one read of large events holds
   * bounded memory. Unbounded when absent.
   */
  pageMaxBytes?: number;
  /**
   * Live events held while the consumer is still writing earlier ones. Past this the buffer is
   * dropped and the database fills in later, so a slow consumer costs a query, never unbounded memory.
   * @default 1000
   */
  maxBufferedEvents?: number;
  /**
   * While the bus is down (between its `onDown` and `onResync`), how often the database is read
   * for new events. Every follower of a process reads at the same instants (multiples of the
   * interval), so that followers of one run share each read (see coalesceReads).
   * @default 1000
   */
  pollIntervalMs?: number;
}

/** A run's events, in order, each once, from `afterSeq + 1` up to and including its terminal event. */
export interface RunFollower extends AsyncIterable<RunEventEnvelope[]> {
  /**
   * Asks for a database read at the next opportunity. The transport calls it at each heartbeat:
   * when a run's final bus message is lost, this is what still ends the stream.
   */
  check(): void;
  /** The last seq yielded so far. */
  readonly lastSeq: number;
}

/**
 * Follows one run: subscribes to the bus first, then replays from the database in pages, then
 * yields live events, each batch non-empty and in seq order.
 *
 * Subscribing before the replay closes the replay-to-live race: an event published while the
 * replay query runs is buffered, and dropped if the replay already had it (seq <= last). Delivery
 * is at-least-once and may skip, so the bus is only trusted for the very next seq: a repeat is
 * dropped, and a jump (seq > last + 1), a pointer message without its event, a resync or a buffer
 * overflow all mean "read what is missing from the database", which has every committed event:
 * seqs commit gapless and in order, and a message is only ever published after its commit. In
 * `published` replay the read also goes up to the highest seq the bus announced, which the outbox
 * has published even if its mark has not committed yet.
 */
export function followRun(deps: FollowRunDeps, options: FollowRunOptions): RunFollower {
  const { runId, signal } = options;
  const pageSize = options.pageSize ?? 500;
  const maxBuffered = options.maxBufferedEvents ?? 1000;
  const pollIntervalMs = options.pollIntervalMs ?? 1000;
  const replay = options.replay ?? 'published';

  let last = options.afterSeq;
  let live: RunEventEnvelope[] = [];
  // The first pass is the replay; later passes catch up after a gap, a resync or a check.
  let mustRead = true;
  // Between the bus's onDown and onResync nothing arrives live: the follower polls.
  let busDown = false;
  // The highest seq the bus announced: published, though maybe not yet marked so.
  let announced = 0;
  // One more read at the next poll instant. In published replay an event can be published just
  // before the subscription was active (its message missed) with its mark still on its way: the
  // replay stops short of it. The outbox commits a mark right after its publish, so one later read
  // finds it, instead of the next heartbeat check.
  let settle = false;
  // Whether an empty read should also ask for the run's end: on the replay (a start point past
  // the end) and at heartbeat checks (a lost final message), not at every poll of a bus outage,
  // which reads the terminal event like any other.
  let askEnd = true;
  // Set when the follower learned that events exist which it lacks (a bus message, a resync, the
  // subscription itself): its next read must begin after this moment. Polls and heartbeat checks
  // look for nothing in particular and may share any read in flight.
  let freshAfter: number | undefined;
  const mustReadFresh = (): void => {
    mustRead = true;
    freshAfter = deps.events.ticket?.();
  };
  let wake: (() => void) | undefined;
  const notify = (): void => {
    const resolve = wake;
    wake = undefined;
    resolve?.();
  };

  const handlers: SubscriptionHandlers = {
    onMessage(message: BusMessage) {
      if (message.seq > announced) announced = message.seq;
      if (message.seq <= last) return;
      if (message.event && !mustRead && live.length < maxBuffered) {
        live.push(message.event);
      } else {
        // A pointer, or no room: the database has it. Buffered events stay valid, as the read
        // resumes at last + 1 and the drain drops whatever the read already yielded.
        if (live.length >= maxBuffered) live = [];
        mustReadFresh();
      }
      notify();
    },
    onResync() {
      busDown = false;
      settle = replay === 'published';
      mustReadFresh();
      notify();
    },
    onDown() {
      busDown = true;
      mustRead = true;
      notify();
    },
  };

  const { pageMaxBytes } = options;
  const read = (fromSeq: number, fresh: number | undefined) =>
    deps.events.readPage(runId, {
      fromSeq,
      limit: pageSize,
      ...(pageMaxBytes === undefined ? {} : { maxBytes: pageMaxBytes }),
      visibility: replay,
      ...(replay === 'published' ? { knownPublishedSeq: announced } : {}),
      freshAfter: fresh,
    });

  async function* readFromDatabase(): AsyncGenerator<RunEventEnvelope[], boolean> {
    const fresh = freshAfter;
    freshAfter = undefined;
    // A follower at the largest seq has nothing left to read; the caller's terminal check ends it.
    if (last >= MAX_SEQ) return false;
    let next = read(last + 1, fresh);
    for (;;) {
      const rows = await next;
      if (rows.length === 0) return false;
      const batch = rows.map(envelopeOf);
      const tail = batch[batch.length - 1]!;
      // A page short of pageSize may still have been cut by bytes, and the rows do not say which:
      // with a byte bound the read goes on until a page comes back empty (one extra, cheap read
      // at the end of a catch-up).
      const full =
        (rows.length === pageSize || pageMaxBytes !== undefined) &&
        !isTerminalType(tail.type) &&
        tail.seq < MAX_SEQ;
      // Read ahead: the next page's query runs while this one is written to the client.
      if (full) next = read(tail.seq + 1, fresh);
      last = tail.seq;
      try {
        yield batch;
      } finally {
        // The consumer may stop here; an unawaited read must not become an unhandled rejection.
        if (full) next.catch(() => undefined);
      }
      if (isTerminalType(tail.type)) return true;
      if (!full || signal.aborted) return false;
    }
  }

  /** Takes the live events that extend the stream; a gap sends the loop back to the database. */
  function takeLive(): RunEventEnvelope[] {
    const batch: RunEventEnvelope[] = [];
    let next = last;
    for (const event of live) {
      if (event.seq <= next) continue;
      if (event.seq !== next + 1) {
        mustReadFresh();
        break;
      }
      batch.push(event);
      next = event.seq;
      if (isTerminalType(event.type)) break;
    }
    live = [];
    return batch;
  }

  async function* iterate(): AsyncGenerator<RunEventEnvelope[]> {
    if (signal.aborted) return;
    signal.addEventListener('abort', notify, { once: true });
    const subscription = await deps.bus.subscribe(runId, handlers);
    // The replay must see every event published before the subscription was active.
    mustReadFresh();
    settle = replay === 'published';
    try {
      while (!signal.aborted) {
        if (mustRead) {
          mustRead = false;
          const before = last;
          if (yield* readFromDatabase()) return;
          const ask = askEnd;
          askEnd = false;
          if (ask && last === before && deps.terminalSeq) {
            const terminal = await deps.terminalSeq(runId);
            if (terminal !== undefined && last >= terminal) return;
          }
          continue;
        }
        if (live.length > 0) {
          const batch = takeLive();
          if (batch.length === 0) continue;
          last = batch[batch.length - 1]!.seq;
          yield batch;
          if (isTerminalType(batch[batch.length - 1]!.type)) return;
          continue;
        }
        if (busDown || settle) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(
              () => {
                settle = false;
                mustRead = true;
                notify();
              },
              pollIntervalMs - (Date.now() % pollIntervalMs),
            );
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          continue;
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    } finally {
      signal.removeEventListener('abort', notify);
      await subscription.close();
    }
  }

  return {
    [Symbol.asyncIterator]: iterate,
    check() {
      mustRead = true;
      askEnd = true;
      notify();
    },
    get lastSeq() {
      return last;
    },
  };
}
