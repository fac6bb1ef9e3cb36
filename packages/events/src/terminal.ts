import type { RunStatus } from './run-status.js';

/** The event types that end a run. Exactly one of them is a run's last event. */
export const TERMINAL_EVENT_TYPES = ['run.completed', 'run.failed', 'run.cancelled'] as const;

export type TerminalEventType = (typeof TERMINAL_EVENT_TYPES)[number];

/** The status a run takes in the transaction that writes each terminal event. */
export const TERMINAL_STATUS: Readonly<Record<TerminalEventType, RunStatus>> = {
  'run.completed': 'succeeded',
  'run.failed': 'failed',
  'run.cancelled': 'cancelled',
};

const terminalTypes: ReadonlySet<string> = new Set(TERMINAL_EVENT_TYPES);

/** Whether an event of this type ends its run. */
export function isTerminalType(type: string): type is TerminalEventType {
  return terminalTypes.has(type);
}
