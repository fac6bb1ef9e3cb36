import { isTerminalType } from '@runstream/events';

import type { Database } from '../database.js';

/** One row of run_events, as the invariant checks read it. */
export interface RunEventRow {
  seq: number;
  type: string;
  data: Record<string, unknown>;
}

/** A run's events in seq order, read straight from run_events (no repository in between). */
export async function readRunEvents(
  db: Pick<Database, 'pool'>,
  runId: string,
): Promise<RunEventRow[]> {
  const { rows } = await db.pool.query<RunEventRow>(
    'SELECT seq, type, data FROM run_events WHERE run_id = $1 ORDER BY seq',
    [runId],
  );
  return rows;
}

/**
 * Throws unless `events` are a whole ended run: seqs exactly 1..n (I2) and exactly one terminal
 * event, which is the last (I5). Plain errors, so that it serves outside vitest too.
 */
export function assertEndedRun(events: readonly Pick<RunEventRow, 'seq' | 'type'>[]): void {
  const seqs = events.map((e) => e.seq);
  if (seqs.some((seq, i) => seq !== i + 1))
    throw new Error(`seqs are not exactly 1..${seqs.length}: ${seqs.join(',')}`);
  const terminals = events.filter((e) => isTerminalType(e.type)).map((e) => `${e.seq}:${e.type}`);
  if (terminals.length !== 1)
    throw new Error(`expected one terminal event, got [${terminals.join(', ')}]`);
  const last = events.at(-1)!;
  if (!isTerminalType(last.type))
    throw new Error(`the last event (seq ${last.seq}) is ${last.type}, not terminal`);
}
