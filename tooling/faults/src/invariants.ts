import pg from 'pg';

import type { ProbeResult } from './harness/index.js';

/** One broken promise, with enough detail to reproduce it. */
export interface Violation {
  check: string;
  runId?: string;
  detail: string;
}

interface RunRow {
  id: string;
  status: string;
  next_seq: number;
  n: number;
  min_seq: number | null;
  max_seq: number | null;
  terminals: number;
  last_terminal: boolean | null;
  unpublished: number;
  parked: number;
}

/** What the database holds for each run: the source of truth the clients are compared with. */
export interface RunFacts {
  status: string;
  lastSeq: number;
}

/**
 * I2 and I5 in the database (seqs exactly 1..n, one terminal event and it is the last, the run's
 * status ended with it) and I1 (every event published: no outbox row left unpublished or parked).
 */
export async function checkRuns(
  databaseUrl: string,
  runIds: readonly string[],
): Promise<{ facts: Map<string, RunFacts>; violations: Violation[] }> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<RunRow>(
      `SELECT r.id, r.status::text, r.next_seq,
              count(e.seq)::int AS n, min(e.seq) AS min_seq, max(e.seq) AS max_seq,
              count(*) FILTER (WHERE e.terminal)::int AS terminals,
              (SELECT l.terminal FROM run_events l WHERE l.run_id = r.id ORDER BY l.seq DESC LIMIT 1) AS last_terminal,
              (SELECT count(*)::int FROM run_outbox o WHERE o.run_id = r.id AND o.published_at IS NULL) AS unpublished,
              (SELECT count(*)::int FROM run_outbox o WHERE o.run_id = r.id AND o.parked_at IS NOT NULL) AS parked
         FROM runs r LEFT JOIN run_events e ON e.run_id = r.id
        WHERE r.id = ANY($1::uuid[])
        GROUP BY r.id`,
      [runIds],
    );
    const violations: Violation[] = [];
    const facts = new Map<string, RunFacts>();
    const found = new Set(rows.map((r) => r.id));
    for (const id of runIds)
      if (!found.has(id))
        violations.push({
          check: 'run exists',
          runId: id,
          detail: 'created (201) but not in the database',
        });
    for (const r of rows) {
      facts.set(r.id, { status: r.status, lastSeq: r.max_seq ?? 0 });
      const bad = (check: string, detail: string): void =>
        void violations.push({ check, runId: r.id, detail });
      if (r.min_seq !== 1 || r.max_seq !== r.n || r.next_seq !== r.n + 1) {
        bad(
          'gapless seqs',
          `${r.n} events, seqs ${r.min_seq}..${r.max_seq}, next_seq ${r.next_seq}`,
        );
      }
      if (r.terminals !== 1 || r.last_terminal !== true)
        bad(
          'one terminal event, last',
          `${r.terminals} terminal events, last is terminal: ${r.last_terminal}`,
        );
      if (!['succeeded', 'failed', 'cancelled'].includes(r.status))
        bad('run ended', `status ${r.status}`);
      if (r.unpublished > 0)
        bad(
          'every event published',
          `${r.unpublished} outbox rows unpublished (${r.parked} parked)`,
        );
    }
    return { facts, violations };
  } finally {
    await client.end();
  }
}

/** I3 at the wire: each client got exactly 1..N in order, N the run's last seq in the database. */
export function checkStream(
  kind: string,
  runId: string,
  received: readonly number[],
  facts: RunFacts | undefined,
): Violation[] {
  const n = facts?.lastSeq ?? 0;
  const exact = received.length === n && received.every((seq, i) => seq === i + 1);
  if (exact) return [];
  const firstBad = received.findIndex((seq, i) => seq !== i + 1);
  return [
    {
      check: `${kind} stream is exactly 1..N`,
      runId,
      detail: `N=${n}, got ${received.length} frames; first mismatch at index ${firstBad}: ${received.slice(Math.max(0, firstBad - 2), firstBad + 3).join(',')}`,
    },
  ];
}

export function checkProbe(probe: ProbeResult, facts: RunFacts | undefined): Violation[] {
  const out = checkStream('probe (wire)', probe.runId, probe.received, facts);
  if (probe.duplicates > 0)
    out.push({
      check: 'no duplicate frame',
      runId: probe.runId,
      detail: `${probe.duplicates} repeated frames`,
    });
  if (probe.gaps > 0)
    out.push({ check: 'no gap in frames', runId: probe.runId, detail: `${probe.gaps} holes` });
  return out;
}
