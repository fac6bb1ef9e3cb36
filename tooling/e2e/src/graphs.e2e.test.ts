import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { type TestDatabaseWithClient, openTestDatabase } from '@runstream/persistence/testing';
import { ROOT, type Spawned, freePort, spawnNode, stop, waitFor } from '@runstream/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

/**
 * Graphs are plugins: the api, started first and never restarted, learns each graph from the
 * registrations of the workers that serve it, and no run is ever failed by a worker that lacks
 * its graph (or its graph's version).
 */

const ECHO = 'examples/echo-graph.mjs';
/** Polls `check`, one call at a time, until it returns a value (a check that throws is retried). */
const until = <T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  intervalMs = 20,
): Promise<T> => waitFor('a condition of the test', check, 60_000, intervalMs);

let database: TestDatabaseWithClient;
let apiUrl: string;
const processes: Spawned[] = [];

/** Short leases: a worker re-registers every 500 ms, and its registration lives 1.5 s. */
const baseEnv = (): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  DATABASE_URL: database.url,
  RUNSTREAM_BUS: 'postgres',
  LOG_LEVEL: 'info',
  RUNSTREAM_OUTBOX_METRICS_PORT: '0',
  RUNSTREAM_RUN_WORKER_METRICS_PORT: '0',
  RUNSTREAM_RUN_WORKER_LEASE_MS: '1500',
  RUNSTREAM_RUN_WORKER_POLL_MS: '20',
  RUNSTREAM_RUN_WORKER_REAP_MS: '200',
});

function app(name: string, env: NodeJS.ProcessEnv = {}): Spawned {
  // From the repository root, as the contract starts them: RUNSTREAM_GRAPHS paths are relative to it.
  const spawned = spawnNode([join(ROOT, 'apps', name, 'dist', 'main.js')], {
    cwd: ROOT,
    env: { ...baseEnv(), ...env },
  });
  processes.push(spawned);
  return spawned;
}

interface Worker {
  process: Spawned;
  id: string;
}

/** Starts a run-worker (serving RUNSTREAM_GRAPHS besides the built-ins) and waits for its id. */
async function worker(graphs?: string): Promise<Worker> {
  const spawned = app('run-worker', graphs === undefined ? {} : { RUNSTREAM_GRAPHS: graphs });
  const id = await until(() => {
    if (spawned.child.exitCode !== null) throw new Error(`run-worker exited:\n${spawned.output()}`);
    return /"workerId":"([^"]+)"/.exec(spawned.output())?.[1];
  });
  return { process: spawned, id };
}

/** An answer of POST /v1/runs: a Run, or an error. */
interface Answer {
  id?: string;
  error?: { code: string; details?: unknown };
}

async function post(graph: string, input: unknown): Promise<{ status: number; body: Answer }> {
  const response = await fetch(`${apiUrl}/v1/runs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ graph, input }),
  });
  return { status: response.status, body: (await response.json()) as Answer };
}

async function getRun(id: string): Promise<{ status: string; lastSeq: number; error: unknown }> {
  return (await fetch(`${apiUrl}/v1/runs/${id}`)).json() as Promise<{
    status: string;
    lastSeq: number;
    error: unknown;
  }>;
}

/** The run's events, read from the database (the api's replay may wait for the outbox). */
async function eventsOf(
  id: string,
): Promise<{ seq: number; type: string; data: Record<string, unknown> }[]> {
  const { rows } = await database.db.pool.query<{
    seq: number;
    type: string;
    data: Record<string, unknown>;
  }>('SELECT seq, type, data FROM run_events WHERE run_id = $1 ORDER BY seq', [id]);
  return rows;
}

/** Waits for the run's end; a run that does not end fails the test with what every process said. */
async function ended(id: string): Promise<{ status: string; lastSeq: number; error: unknown }> {
  try {
    return await until(async () => {
      const run = await getRun(id);
      return ['succeeded', 'failed', 'cancelled'].includes(run.status) ? run : undefined;
    }, 50);
  } catch (error) {
    const { rows } = await database.db.pool.query(
      'SELECT id, graph, graph_version, status, lease_owner FROM runs ORDER BY id',
    );
    const said = processes.map((p) => p.output().slice(-1500)).join('\n---\n');
    throw new Error(`run ${id} did not end: ${JSON.stringify(rows)}\n${said}`, { cause: error });
  }
}

/** The worker that executed a run, from its run.started event. */
async function executedBy(id: string): Promise<string | undefined> {
  return (await eventsOf(id)).find((e) => e.type === 'run.started')?.data.worker as
    string | undefined;
}

beforeEach(async () => {
  database = await openTestDatabase({ poolSize: 4 });
  const port = await freePort();
  apiUrl = `http://127.0.0.1:${port}`;
  // The api starts first, before any run-worker has registered anything.
  // No rate limit: the tests poll the api, the point of which is to see each answer change at once.
  const api = app('api', {
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    RUNSTREAM_RATE_LIMIT_MAX: '0',
  });
  app('outbox-worker', { LOG_LEVEL: 'warn' });
  await until(async () => {
    if (api.child.exitCode !== null) throw new Error(`api exited:\n${api.output()}`);
    return (await fetch(`${apiUrl}/readyz`).catch(() => undefined))?.ok ?? false;
  });
});
afterEach(async () => {
  await Promise.all(processes.splice(0).map((p) => stop(p)));
  await database?.drop();
});

describe('graphs are plugins', () => {
  it('the api (never restarted) takes echo once a worker with RUNSTREAM_GRAPHS=examples/echo-graph.mjs registers it; a worker without echo never claims an echo run', async ({
    annotate,
  }) => {
    const api = processes[0]!;
    const before = await post('echo', { text: 'hello' });
    expect(before.status).toBe(400);
    expect(before.body.error?.code).toBe('UNKNOWN_GRAPH');

    // Asking all along, from before the worker starts: the first POST the api accepts measures how
    // long the registration's commit takes to reach it.
    const acceptance = until(async () => {
      const res = await post('echo', { text: 'the quick brown  fox jumps' });
      if (res.status !== 201) expect(res.body.error?.code).toBe('UNKNOWN_GRAPH');
      return res.status === 201 ? { id: res.body.id!, at: Date.now() } : undefined;
    }, 2);
    const echoWorker = await worker(ECHO);
    const accepted = await acceptance;
    const { rows } = await database.db.pool.query<{ at: Date }>(
      `SELECT first_registered_at AS at FROM graph_registrations WHERE name = 'echo'`,
    );
    await annotate(
      `registration commit to an accepted POST /v1/runs: ${accepted.at - rows[0]!.at.getTime()} ms`,
    );

    expect((await ended(accepted.id)).status).toBe('succeeded');
    const events = await eventsOf(accepted.id);
    expect(events.map((e) => e.type)).toEqual([
      'run.queued',
      'run.started',
      ...Array<string>(5).fill('text.delta'),
      'run.completed',
    ]);
    expect(events.filter((e) => e.type === 'text.delta').map((e) => e.data.text)).toEqual([
      'the ',
      'quick ',
      'brown  ',
      'fox ',
      'jumps',
    ]);
    expect(events.at(-1)!.data).toEqual({ output: { text: 'the quick brown  fox jumps' } });
    const refused = await post('echo', { text: '' });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({
      code: 'INVALID_INPUT',
      details: [{ path: ['input', 'text'] }],
    });

    // Every echo worker gone; a worker without echo takes over the queue.
    await stop(echoWorker.process);
    const plain = await worker();
    const waiting = await post('echo', { text: 'wait for me' });
    expect(waiting.status).toBe(201);
    // A run created after the echo run ends: the plain worker has claimed past the echo run.
    const later = await post('synthetic', { events: 1 });
    expect((await ended(later.body.id!)).status).toBe('succeeded');
    expect(await executedBy(later.body.id!)).toBe(plain.id);
    expect(await getRun(waiting.body.id!)).toMatchObject({ status: 'queued', lastSeq: 1 });

    // An echo worker comes back: the waiting run runs, on it.
    const back = await worker(ECHO);
    expect((await ended(waiting.body.id!)).status).toBe('succeeded');
    expect(await executedBy(waiting.body.id!)).toBe(back.id);
    expect(api.child.exitCode).toBeNull();
    expect(api.child.signalCode).toBeNull();
  });

  it("a team's own worker, built on the published packages alone (examples/team-worker.mjs), serves echo and nothing else", async () => {
    const team = spawnNode([join(ROOT, 'examples', 'team-worker.mjs')], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, DATABASE_URL: database.url },
    });
    processes.push(team);
    const id = await until(async () => {
      if (team.child.exitCode !== null) throw new Error(`team worker exited:\n${team.output()}`);
      const res = await post('echo', { text: 'from a team' });
      return res.status === 201 ? res.body.id! : undefined;
    });
    expect((await ended(id)).status).toBe('succeeded');
    expect(await executedBy(id)).toContain(`:${team.child.pid}:`);
    expect((await eventsOf(id)).at(-1)!.data).toEqual({ output: { text: 'from a team' } });
    // No stock run-worker ever ran on this database: the built-ins are unknown here.
    expect((await post('synthetic', { events: 1 })).body.error?.code).toBe('UNKNOWN_GRAPH');
  });

  it('rolling deploy of a new graph: old and new workers side by side while echo runs are created; none ends UNKNOWN_GRAPH', async () => {
    const old = [await worker(), await worker()];
    const created: string[] = [];
    let refused = 0;
    const create = async (): Promise<void> => {
      const res = await post('echo', { text: `run ${created.length}` });
      if (res.status === 201) created.push(res.body.id!);
      else {
        expect(res.body.error?.code).toBe('UNKNOWN_GRAPH');
        refused++;
      }
    };
    const createUntil = async (n: number): Promise<void> => {
      while (created.length < n) await create();
    };
    // The deploy: a new worker joins, then each old one is replaced by a new one, one at a time,
    // while runs keep being created.
    for (let i = 0; i < 5; i++) await create();
    const fresh = [await worker(ECHO)];
    await createUntil(10);
    await stop(old[0]!.process);
    fresh.push(await worker(ECHO));
    await createUntil(20);
    await stop(old[1]!.process);
    await createUntil(30);

    const ends = await Promise.all(created.map((id) => ended(id)));
    expect(ends.map((r) => r.status)).toEqual(created.map(() => 'succeeded'));
    const executors = new Set(await Promise.all(created.map((id) => executedBy(id))));
    for (const id of executors) expect(fresh.map((w) => w.id)).toContain(id);
    // The runs asked for before the first echo worker registered were refused, and wrote nothing.
    const { rows } = await database.db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM runs WHERE graph = 'echo'`,
    );
    expect(rows[0]!.n).toBe(created.length);
    expect(refused).toBeGreaterThanOrEqual(5);
  });

  it('rolling deploy of a changed graph: a run checked against the new version never reaches an old worker', async ({
    annotate,
  }) => {
    const dir = mkdtempSync(join(tmpdir(), 'runstream-echo-v2-'));
    try {
      // echo v2 takes `shout`, which v1 (a strict object) refuses.
      const orchestrator = pathToFileURL(
        join(ROOT, 'packages', 'orchestrator', 'dist', 'index.js'),
      );
      const v2 = join(dir, 'echo-v2.mjs');
      writeFileSync(
        v2,
        `import { defineGraph, z } from '${orchestrator.href}';
export default defineGraph({
  name: 'echo',
  description: 'streams the text back, one text.delta per word; louder when asked',
  input: z.strictObject({ text: z.string().min(1).max(10_000), shout: z.boolean().default(false) }),
  start: 'echo',
  traceNodes: false,
  nodes: {
    echo: async ({ text, shout }, { tracer }) => {
      const said = shout ? text.toUpperCase() : text;
      for (const word of said.match(/\\s*\\S+\\s*/g) ?? []) await tracer.text(word);
      return { text: said };
    },
  },
});
`,
      );
      const old = [await worker(ECHO), await worker(ECHO)];
      await until(async () => (await post('echo', { text: 'v1' })).status === 201);
      // The api knows echo (v1): only the NOTIFY of the new registration (or its 5 s poll) makes it
      // check against v2, which takes `shout`.
      const acceptance = until(async () => {
        const res = await post('echo', { text: 'hi there', shout: true });
        if (res.status !== 201) expect(res.body.error?.code).toBe('INVALID_INPUT');
        return res.status === 201 ? { id: res.body.id!, at: Date.now() } : undefined;
      }, 2);
      const fresh = await worker(v2);
      const shouted = await acceptance;
      const { rows } = await database.db.pool.query<{ at: Date }>(
        `SELECT first_registered_at AS at FROM graph_registrations WHERE name = 'echo'
          ORDER BY first_registered_at DESC LIMIT 1`,
      );
      await annotate(
        `new version's registration commit to a POST checked against it: ${shouted.at - rows[0]!.at.getTime()} ms`,
      );

      // The old workers are live and idle: every one of these runs could be theirs, but is v2's.
      const ids = [shouted.id];
      for (let i = 0; i < 15; i++) {
        const res = await post(
          'echo',
          i % 2 ? { text: `run ${i}`, shout: true } : { text: `run ${i}` },
        );
        expect(res.status).toBe(201);
        ids.push(res.body.id!);
      }
      const ends = await Promise.all(ids.map((id) => ended(id)));
      expect(ends.map((r) => [r.status, r.error])).toEqual(ids.map(() => ['succeeded', null]));
      for (const id of ids) expect(await executedBy(id)).toBe(fresh.id);
      expect((await eventsOf(ids[0]!)).at(-1)!.data).toEqual({ output: { text: 'HI THERE' } });
      for (const w of old) expect(w.process.child.exitCode).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
