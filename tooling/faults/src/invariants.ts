import pg from 'pg';

import type { AuthFloodResult, ProbeResult, SlowlorisResult } from './harness/index.js';

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
  ticks: number[] | null;
  error_code: string | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

/** What the database holds for each run: the source of truth the clients are compared with. */
export interface RunFacts {
  status: string;
  lastSeq: number;
  /** `runs.error.code` of a failed run. */
  errorCode?: string;
  /** synthetic.tick events written, each checked to be there once. */
  ticks: number;
  createdAt: number;
  startedAt?: number;
  finishedAt?: number;
}

/**
 * I2 and I5 in the database (seqs exactly 1..n, one terminal event and it is the last, the run's
 * status ended with it), I1 (every event published: no outbox row left unpublished, none parked),
 * and each event appended once: the synthetic graph numbers its ticks, so a retried append that
 * had in fact committed shows as a repeated index even when the seqs are gapless.
 */
export async function checkRuns(
  databaseUrl: string,
  runIds: readonly string[],
): Promise<{ facts: Map<string, RunFacts>; violations: Violation[] }> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<RunRow>(
      `SELECT r.id, r.status::text, r.next_seq, r.error->>'code' AS error_code,
              r.created_at, r.started_at, r.finished_at,
              count(e.seq)::int AS n, min(e.seq) AS min_seq, max(e.seq) AS max_seq,
              count(*) FILTER (WHERE e.terminal)::int AS terminals,
              array_agg((e.data->>'index')::int ORDER BY e.seq)
                FILTER (WHERE e.type = 'synthetic.tick') AS ticks,
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
      const ticks = r.ticks ?? [];
      facts.set(r.id, {
        status: r.status,
        lastSeq: r.max_seq ?? 0,
        errorCode: r.error_code ?? undefined,
        ticks: ticks.length,
        createdAt: r.created_at.getTime(),
        startedAt: r.started_at?.getTime(),
        finishedAt: r.finished_at?.getTime(),
      });
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
      const firstBadTick = ticks.findIndex((index, i) => index !== i + 1);
      if (firstBadTick >= 0)
        bad(
          'each event appended once',
          `tick indexes ${ticks.slice(Math.max(0, firstBadTick - 2), firstBadTick + 3).join(',')} at position ${firstBadTick + 1}: ${ticks.length} ticks, expected 1..${ticks.length}`,
        );
      if (r.parked > 0) bad('no run parked', `${r.parked} outbox rows parked`);
      if (r.unpublished > r.parked)
        bad('every event published', `${r.unpublished - r.parked} outbox rows unpublished`);
    }
    return { facts, violations };
  } finally {
    await client.end();
  }
}

/** How a run must end when no fault may change its outcome. */
export type ExpectedEnd =
  | { status: 'succeeded'; ticks: number }
  | { status: 'failed'; code: string; ticks: number }
  | { status: 'cancelled' };

/** The end a synthetic run's input asks for: all its ticks, or failure right after tick `failAt`. */
export function expectedEnd(input: { events: number; failAt?: number }): ExpectedEnd {
  return input.failAt === undefined
    ? { status: 'succeeded', ticks: input.events }
    : { status: 'failed', code: 'SYNTHETIC_FAILURE', ticks: input.failAt };
}

/** The run ended as its input (or the suite's cancel) asked: no fault failed it or cut it short. */
export function checkOutcome(
  runId: string,
  facts: RunFacts | undefined,
  expected: ExpectedEnd,
): Violation[] {
  if (!facts) return [];
  const got = `${facts.status}${facts.errorCode ? ` ${facts.errorCode}` : ''} after ${facts.ticks} ticks`;
  const ok =
    facts.status === expected.status &&
    (expected.status === 'cancelled' ||
      (facts.ticks === expected.ticks &&
        (expected.status !== 'failed' || facts.errorCode === expected.code)));
  if (ok) return [];
  const wanted =
    expected.status === 'cancelled'
      ? 'cancelled'
      : `${expected.status}${expected.status === 'failed' ? ` ${expected.code}` : ''} after ${expected.ticks} ticks`;
  return [
    { check: 'run ended as its input asks', runId, detail: `expected ${wanted}, got ${got}` },
  ];
}

export interface PromptnessBounds {
  /** Longest wait from creation to the start. */
  startMs: number;
  /** Longest run time beyond the run's own nominal duration (its events times its delay). */
  slackMs: number;
}

/** The run started soon after it was created and ran no longer than its work takes (fairness). */
export function checkPrompt(
  runId: string,
  facts: RunFacts | undefined,
  nominalMs: number,
  bounds: PromptnessBounds,
): Violation[] {
  if (!facts) return [];
  const out: Violation[] = [];
  const waited = (facts.startedAt ?? Date.now()) - facts.createdAt;
  if (facts.startedAt === undefined || waited > bounds.startMs)
    out.push({
      check: `run starts within ${bounds.startMs / 1000} s`,
      runId,
      detail:
        facts.startedAt === undefined
          ? `never started (${facts.status})`
          : `started ${(waited / 1000).toFixed(1)} s after its creation`,
    });
  else if (facts.finishedAt !== undefined) {
    const ran = facts.finishedAt - facts.startedAt;
    if (ran > nominalMs + bounds.slackMs)
      out.push({
        check: 'run ends promptly',
        runId,
        detail: `ran ${(ran / 1000).toFixed(1)} s for ${(nominalMs / 1000).toFixed(1)} s of work`,
      });
  }
  return out;
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
  const detail =
    firstBad < 0
      ? `N=${n}, got ${received.length === 0 ? 'nothing' : `1..${received.length} and no more`}`
      : `N=${n}, got ${received.length} frames; first mismatch at index ${firstBad}: ${received.slice(Math.max(0, firstBad - 2), firstBad + 3).join(',')}`;
  return [{ check: `${kind} stream is exactly 1..N`, runId, detail }];
}

export function checkProbe(probe: ProbeResult, facts: RunFacts | undefined): Violation[] {
  const out = checkStream('probe (wire)', probe.runId, probe.received, facts);
  // How its connections ended says where a stream stopped: the server, the network, the suite.
  const drops = Object.entries(probe.drops)
    .map(([reason, n]) => `${n} x ${reason}`)
    .join(', ');
  if (out[0] && drops) out[0].detail += `; connections ended: ${drops}`;
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

/**
 * Live delivery came back within `boundMs` of the heal (`ms` undefined: not by the bound);
 * `seen` says what the canary saw instead.
 */
export function checkHealToLive(ms: number | undefined, boundMs: number, seen = ''): Violation[] {
  if (ms !== undefined && ms <= boundMs) return [];
  const verdict =
    ms === undefined
      ? `not live ${boundMs / 1000} s after the heal`
      : `live after ${(ms / 1000).toFixed(1)} s`;
  return [
    {
      check: `live delivery back within ${boundMs / 1000} s of the heal`,
      detail: seen ? `${verdict}: ${seen}` : verdict,
    },
  ];
}

/** The server closed every half-sent request within `boundMs` of its first byte. */
export function checkSlowloris(result: SlowlorisResult, boundMs: number): Violation[] {
  const late = result.closedAfterMs.filter((ms) => ms === undefined || ms > boundMs);
  if (late.length === 0) return [];
  const open = late.filter((ms) => ms === undefined).length;
  return [
    {
      check: `half-sent ${result.part === 'head' ? 'heads' : 'bodies'} closed within ${boundMs / 1000} s`,
      detail: `${late.length} of ${result.closedAfterMs.length} sockets outlived the bound (${open} still open when the suite gave up)`,
    },
  ];
}

/** Wrong keys were throttled per client address, in the error shape, before `maxFailures` 401s. */
export function checkAuthFlood(result: AuthFloodResult, maxFailures: number): Violation[] {
  const out: Violation[] = [];
  const unauthorized = result.statuses[401] ?? 0;
  const limited = result.statuses[429] ?? 0;
  const statuses = Object.entries(result.statuses)
    .map(([status, n]) => `${n} x ${status}`)
    .join(', ');
  if (limited === 0 || unauthorized > maxFailures)
    out.push({
      check: `wrong keys throttled (429 after at most ${maxFailures} failures)`,
      detail: `${result.requests} wrong-key requests: ${statuses}`,
    });
  if (limited > 0 && !result.retryAfter)
    out.push({ check: 'a 429 says when to retry', detail: 'no Retry-After header on a 429' });
  if (result.badShapes.length > 0)
    out.push({
      check: 'every error keeps the shape',
      detail: `${result.badShapes.length} answers not {"error":{"code","message"}}, e.g. ${result.badShapes[0]}`,
    });
  return out;
}
