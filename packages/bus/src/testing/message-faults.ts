import type { Bus, BusMessage } from '../bus.js';

/**
 * What becomes of one published message: it goes out as it is, is lost, goes out twice in a row,
 * or goes out as a pointer (its run and seq without the event, as when an event does not fit the
 * transport), which makes every subscriber read it from the database.
 */
export type MessageFate = 'deliver' | 'drop' | 'repeat' | 'pointer';

/**
 * Decides the fate of each message. `index` counts the messages the decorator has seen, from 0,
 * across publish calls; a plan that depends only on its arguments makes a test replayable.
 */
export type FaultPlan = (message: BusMessage, index: number) => MessageFate;

/** A bus whose published messages meet the faults its plan picks; subscribe, ping and close pass. */
export interface FaultyBus extends Bus {
  /** Replaces the plan for the messages published from now on. */
  setPlan(plan: FaultPlan): void;
  /** How many messages met each fate so far. */
  readonly counts: Readonly<Record<MessageFate, number>>;
}

const deliverAll: FaultPlan = () => 'deliver';

/**
 * Wraps any bus so that its publisher's messages are dropped, repeated or turned into pointers
 * before the transport sees them: the faults a live bus may commit (at-most-once delivery, a
 * redelivery, an event too large for the transport), at the place a test names, on every
 * subscriber alike. A publish whose messages are all dropped resolves without reaching `inner`;
 * otherwise `inner.publish` settles the call, its errors included.
 */
export function withMessageFaults(inner: Bus, plan: FaultPlan = deliverAll): FaultyBus {
  let current = plan;
  let index = 0;
  const counts: Record<MessageFate, number> = { deliver: 0, drop: 0, repeat: 0, pointer: 0 };
  return {
    kind: inner.kind,
    counts,
    setPlan(next) {
      current = next;
    },
    async publish(messages) {
      const out: BusMessage[] = [];
      for (const message of messages) {
        const fate = current(message, index++);
        counts[fate]++;
        if (fate === 'deliver') out.push(message);
        else if (fate === 'repeat') out.push(message, message);
        else if (fate === 'pointer')
          out.push({ source: message.source, runId: message.runId, seq: message.seq });
      }
      if (out.length > 0) await inner.publish(out);
    },
    subscribe: (runId, handlers) => inner.subscribe(runId, handlers),
    ping: () => inner.ping(),
    close: () => inner.close(),
  };
}

/** The fates in turn, over and over, by message index: `cycle(['deliver', 'drop'])` loses every other message. */
export function cycle(fates: readonly MessageFate[]): FaultPlan {
  if (fates.length === 0) throw new RangeError('cycle needs at least one fate');
  return (_message, index) => fates[index % fates.length]!;
}

/** A fate for the messages of the seqs named (of any run), and `otherwise` for the rest. */
export function bySeq(
  fates: Readonly<Record<number, MessageFate>>,
  otherwise: MessageFate = 'deliver',
): FaultPlan {
  return (message) => fates[message.seq] ?? otherwise;
}

/** `fate` for the messages `predicate` picks, and `plan` decides the others. */
export function when(
  predicate: (message: BusMessage) => boolean,
  fate: MessageFate,
  plan: FaultPlan = deliverAll,
): FaultPlan {
  return (message, index) => (predicate(message) ? fate : plan(message, index));
}
