import type { Run } from '@runstream/contract';
import type { RunError, RunEvent, TerminalEventType } from '@runstream/events';

import type { CallOptions, Runs } from './client.js';
import { RunstreamError } from './errors.js';

/** How a run ended, with the run as it ended (its status matches). */
export type RunResult =
  /** `output` is the run's: its run.completed event's data.output. */
  | { status: 'succeeded'; run: Run; output: unknown }
  /** `error` is its run.failed event's data.error: `WORKER_LOST`, `LIMIT_EXCEEDED`, a node's code. */
  | { status: 'failed'; run: Run; error: RunError; node: string | undefined }
  | { status: 'cancelled'; run: Run; reason: string | undefined };

/**
 * Waits for a run's terminal event by following its stream from its latest event (a run that has
 * already ended answers at once; one still going costs one open stream, not polling), then reads
 * the run as it ended: its status changed in the same transaction that wrote that event.
 */
export async function waitForRun(
  runs: Pick<Runs, 'get' | 'events'>,
  runId: string,
  options: CallOptions = {},
): Promise<RunResult> {
  const before = await runs.get(runId, options);
  let terminal: Extract<RunEvent, { type: TerminalEventType }> | undefined;
  for await (const event of runs.events(before.id, {
    fromSeq: Math.max(1, before.lastSeq),
    signal: options.signal,
  })) {
    if (
      event.type === 'run.completed' ||
      event.type === 'run.failed' ||
      event.type === 'run.cancelled'
    )
      terminal = event;
  }
  if (terminal === undefined) {
    throw new RunstreamError(
      'INVALID_RESPONSE',
      `the event stream of run ${before.id} ended without its terminal event`,
    );
  }
  const run = await runs.get(before.id, options);
  switch (terminal.type) {
    case 'run.completed':
      return { status: 'succeeded', run, output: terminal.data.output };
    case 'run.failed':
      return { status: 'failed', run, error: terminal.data.error, node: terminal.data.node };
    case 'run.cancelled':
      return { status: 'cancelled', run, reason: terminal.data.reason };
  }
}
