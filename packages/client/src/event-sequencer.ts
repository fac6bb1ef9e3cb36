import {
  EventParseError,
  type ReceivedRunEvent,
  isTerminalType,
  parseReceivedRunEvent,
} from '@runstream/events';

import { RunstreamError } from './errors.js';

/** What became of one frame handed to the sequencer. */
export type SequencerVerdict =
  | { kind: 'event'; event: ReceivedRunEvent }
  /** `seq` at or below the last one delivered: a repeat after a reconnect, dropped. */
  | { kind: 'duplicate'; seq: number }
  /** `seq` beyond the next one expected: the stream must resume from `lastSeq` to fill the hole. */
  | { kind: 'gap'; expected: number; seq: number };

/**
 * Keeps the client's side of invariant I3: what it delivers is an in-order, gapless prefix of the
 * run's seqs, each at most once, ending at the terminal event. Shared by `events()` and the viewer's
 * EventSource, so both drop duplicates and detect gaps the same way.
 */
export interface EventSequencer {
  accept(frame: unknown): SequencerVerdict;
  /** The seq of the last event delivered; 0 before the first. Send it as Last-Event-ID to resume. */
  readonly lastSeq: number;
  /** Whether the terminal event has been delivered (nothing can follow it). */
  readonly done: boolean;
}

export interface EventSequencerOptions {
  runId: string;
  /**
   * First seq to deliver.
   * @default 1
   */
  fromSeq?: number;
}

export function createEventSequencer(options: EventSequencerOptions): EventSequencer {
  let lastSeq = Math.max(0, (options.fromSeq ?? 1) - 1);
  const runId = options.runId.toLowerCase();
  let done = false;
  return {
    get lastSeq() {
      return lastSeq;
    },
    get done() {
      return done;
    },
    accept(frame) {
      const value = typeof frame === 'string' ? parseJson(frame) : frame;
      // A type of the catalogue must match its schema; a type this client does not know yet passes
      // on its envelope alone, so a newer api does not break an older client.
      let event: ReceivedRunEvent;
      try {
        event = parseReceivedRunEvent(value);
      } catch (error) {
        if (!(error instanceof EventParseError)) throw error;
        throw new RunstreamError('INVALID_EVENT', error.message, undefined, [...error.issues]);
      }
      // Run ids are UUIDs, matched without regard to case: the api answers in lower case
      // whatever case the caller used.
      if (event.runId.toLowerCase() !== runId) {
        throw new RunstreamError(
          'INVALID_EVENT',
          `event of run ${event.runId} on the stream of run ${options.runId}`,
        );
      }
      if (done || event.seq <= lastSeq) return { kind: 'duplicate', seq: event.seq };
      if (event.seq !== lastSeq + 1) return { kind: 'gap', expected: lastSeq + 1, seq: event.seq };
      lastSeq = event.seq;
      done = isTerminalType(String(event.type));
      return { kind: 'event', event };
    },
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new RunstreamError(
      'INVALID_EVENT',
      'invalid event: malformed JSON',
      undefined,
      undefined,
      { cause: error },
    );
  }
}
