import { type Bus, createBus } from '@runstream/bus';
import {
  type NewEvent,
  type OutboxWakeup,
  createOutboxWakeup,
  loadBusSigningKey,
} from '@runstream/persistence';
import { seedRun, useTestDatabase } from '@runstream/persistence/testing';
import { type TestNatsServer, natsForTests, startNatsServer } from '@runstream/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import { type Collector, createCollector } from '@runstream/outbox/testing';

import { killAllWorkers, spawnWorker, takeWorkerOutputs } from './testing/harness.js';

const withNats = await natsForTests('outbox worker on nats');

/** How long and how often the tests poll for a condition. */
const poll = { timeout: 15_000, interval: 20 };

const t = useTestDatabase({ beforeAll, afterAll }, { poolSize: 12 });
const repos = t.repos;
let wakeup: OutboxWakeup;
let nats: TestNatsServer;

beforeAll(async () => {
  wakeup = createOutboxWakeup(t.db.pool);
  if (withNats) nats = await startNatsServer();
});
afterAll(async () => {
  await killAllWorkers();
  await nats?.close();
});
afterEach(async (context) => {
  await killAllWorkers();
  const outputs = takeWorkerOutputs();
  // A failed process test is explained by what its workers logged.
  if (context.task.result?.state === 'fail')
    for (const out of outputs) process.stderr.write(`--- worker output ---\n${out}\n`);
});

const delta = (i: number): NewEvent => ({ type: 'text.delta', data: { text: String(i) } });

/** Appends `n` events to a run in batches, waking the workers after each commit, as the orchestrator does. */
async function appendEvents(runId: string, n: number, batch = 20, terminal = true): Promise<void> {
  for (let done = 0; done < n;) {
    const size = Math.min(batch, n - done);
    const events = Array.from({ length: size }, (_, k) => delta(done + k));
    done += size;
    if (terminal && done === n)
      events[events.length - 1] = { type: 'run.completed', data: { output: null } };
    await repos.events.append(runId, events);
    wakeup.notify();
  }
}

async function lastSeqs(runIds: string[]): Promise<Map<string, number>> {
  const { rows } = await t.db.pool.query<{ id: string; n: number }>(
    'SELECT id, next_seq - 1 AS n FROM runs WHERE id = ANY($1::uuid[])',
    [runIds],
  );
  return new Map(rows.map((r) => [r.id, r.n]));
}

/** I1 and I3: every run's events reached the subscriber, exactly 1..n in order. */
async function expectExactlyOnceInOrder(collector: Collector, runIds: string[]): Promise<void> {
  const last = await lastSeqs(runIds);
  await collector.waitForAll(runIds, (id) => last.get(id)!);
  expect(collector.errors()).toEqual([]);
  for (const id of runIds) {
    const n = last.get(id)!;
    expect(collector.get(id).seqs, `run ${id}`).toEqual(Array.from({ length: n }, (_, i) => i + 1));
  }
}

/** I4: nothing is marked published that was not published: each marked event reached the subscriber live. */
async function expectMarkedWereDelivered(collector: Collector, runIds: string[]): Promise<void> {
  const { rows } = await t.db.pool.query<{ run_id: string; seq: number }>(
    `SELECT e.run_id, e.seq FROM run_events e JOIN runs r ON r.id = e.run_id
      WHERE e.run_id = ANY($1::uuid[]) AND e.seq <= r.published_seq`,
    [runIds],
  );
  const missing = rows.filter((r) => !collector.get(r.run_id).live.has(r.seq));
  expect(missing).toEqual([]);
}

async function unpublished(runIds: string[]): Promise<number> {
  const { rows } = await t.db.pool.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM run_outbox WHERE published_at IS NULL AND run_id = ANY($1::uuid[])',
    [runIds],
  );
  return rows[0]!.n;
}

interface BusCase {
  name: 'postgres' | 'nats';
  env(): Record<string, string>;
  open(): Promise<Bus>;
}

const cases: BusCase[] = [
  {
    name: 'postgres',
    env: () => ({ RUNSTREAM_BUS: 'postgres' }),
    open: async () =>
      createBus(
        { kind: 'postgres' },
        {
          databaseUrl: t.url,
          name: 'test-subscriber',
          signingKey: await loadBusSigningKey(t.db.pool),
        },
      ),
  },
  {
    name: 'nats',
    env: () => ({ RUNSTREAM_BUS: nats.url }),
    open: async () =>
      createBus(
        { kind: 'nats', url: nats.url },
        {
          databaseUrl: t.url,
          name: 'test-subscriber',
          signingKey: await loadBusSigningKey(t.db.pool),
        },
      ),
  },
];

describe.each(cases.filter((c) => withNats || c.name !== 'nats'))(
  'outbox worker on the $name bus',
  (busCase) => {
    let bus: Bus;
    let collector: Collector;

    beforeAll(async () => {
      bus = await busCase.open();
    });
    afterAll(async () => bus?.close());

    const workerEnv = (extra: Record<string, string> = {}) => ({
      DATABASE_URL: t.url,
      RUNSTREAM_OUTBOX_POLL_INTERVAL_MS: '200',
      ...busCase.env(),
      ...extra,
    });

    /** Runs created and followed before any worker starts, so each subscriber sees seq 1 live. */
    async function followNewRuns(n: number): Promise<string[]> {
      collector = createCollector(bus, repos.events);
      const ids: string[] = [];
      for (let i = 0; i < n; i++) {
        const run = await seedRun(repos);
        await collector.follow(run.id);
        ids.push(run.id);
      }
      return ids;
    }

    it('survives a SIGKILL after part of a batch: another replica resumes, the subscriber sees 1..N exactly once in order', async () => {
      const runIds = await followNewRuns(8);
      // One event over the NOTIFY limit, so that a pointer is resolved along the way.
      await repos.events.append(runIds[0]!, [
        { type: 'text.delta', data: { text: 'x'.repeat(9000) } },
      ]);
      for (const id of runIds) await appendEvents(id, 400, 100);
      const small = { RUNSTREAM_OUTBOX_MAX_RUNS: '2', RUNSTREAM_OUTBOX_MAX_EVENTS_PER_RUN: '25' };
      const first = spawnWorker(workerEnv(small));
      await vi.waitUntil(() => collector.total() >= 400, poll);
      await first.kill('SIGKILL');
      const seenAtKill = collector.total();
      expect(seenAtKill).toBeLessThan(8 * 401 + 1);
      spawnWorker(workerEnv(small));
      spawnWorker(workerEnv(small));
      await expectExactlyOnceInOrder(collector, runIds);
      await vi.waitUntil(async () => (await unpublished(runIds)) === 0, poll);
      if (busCase.name === 'postgres') {
        expect(runIds.reduce((n, id) => n + collector.get(id).gaps, 0)).toBe(0);
        await expectMarkedWereDelivered(collector, runIds);
      }
    });

    it('3 replicas x 50 runs x 200 events, one replica killed and restarted: every event published, per-run order holds', async () => {
      const runIds = await followNewRuns(50);
      const workers = [
        spawnWorker(workerEnv()),
        spawnWorker(workerEnv()),
        spawnWorker(workerEnv()),
      ];
      const appending = Promise.all(runIds.map((id) => appendEvents(id, 199, 10)));
      await vi.waitUntil(() => collector.total() >= 2000, poll);
      await workers[1]!.kill('SIGKILL');
      workers[1] = spawnWorker(workerEnv());
      await appending;
      await expectExactlyOnceInOrder(collector, runIds);
      if (busCase.name === 'postgres') await expectMarkedWereDelivered(collector, runIds);
    });

    it('catches up after its database connections are cut (pg_terminate_backend) mid-loop', async () => {
      const runIds = await followNewRuns(10);
      spawnWorker(workerEnv());
      const appending = Promise.all(runIds.map((id) => appendEvents(id, 300, 5)));
      await vi.waitUntil(() => collector.total() >= 500, poll);
      const { rows } = await t.db.pool.query<{ n: number }>(
        `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND application_name LIKE 'runstream-outbox-worker%'`,
      );
      expect(rows[0]!.n).toBeGreaterThanOrEqual(2);
      await appending;
      await expectExactlyOnceInOrder(collector, runIds);
    });

    it('keeps the other runs flowing while a long open transaction holds one run', async () => {
      const runIds = await followNewRuns(6);
      const [held, ...others] = runIds as [string, ...string[]];
      const blocker = await t.db.pool.connect();
      try {
        await blocker.query('BEGIN');
        // The orchestrator's view of a long transaction: the run's head outbox row and its run row
        // are locked, and an uncommitted append waits inside.
        await blocker.query(
          'SELECT 1 FROM run_outbox WHERE run_id = $1 ORDER BY seq LIMIT 1 FOR UPDATE',
          [held],
        );
        spawnWorker(workerEnv());
        await Promise.all(others.map((id) => appendEvents(id, 100, 10)));
        await expectExactlyOnceInOrder(collector, others);
        expect(collector.get(held).seqs).toEqual([]);
      } finally {
        await blocker.query('COMMIT').catch(() => undefined);
        blocker.release();
      }
      await appendEvents(held, 50, 10);
      await expectExactlyOnceInOrder(collector, runIds);
    });

    it('parks a poison run after N attempts, counts it, and the rest flow', async () => {
      const runIds = await followNewRuns(5);
      const [poison, ...healthy] = runIds as [string, ...string[]];
      await repos.events.append(poison, [delta(1), delta(2)]);
      // An empty type breaks the envelope contract: the bus must never carry it.
      // An empty type breaks the envelope contract: the bus must never carry it. Appends are typed by
      // the catalogue, so only a writer that bypasses the types (an older build, a script) writes it.
      const poisonEvent = { type: '', data: {} } as unknown as NewEvent;
      await repos.events.append(poison, [poisonEvent, delta(3)]);
      const worker = spawnWorker(workerEnv({ RUNSTREAM_OUTBOX_MAX_ATTEMPTS: '3' }));
      await Promise.all(healthy.map((id) => appendEvents(id, 100, 10)));
      await expectExactlyOnceInOrder(collector, healthy);
      const port = await worker.metricsPort();
      let metrics = '';
      await vi.waitUntil(async () => {
        metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        // The counter is read when the scrape starts, the gauges once their queries answer: wait for both.
        return (
          /^runstream_outbox_parked_runs 1$/m.test(metrics) &&
          /^runstream_outbox_runs_parked_total 1$/m.test(metrics)
        );
      }, poll);
      // A parked run's rows are not lag: they wait for an operator, not for the worker.
      expect(metrics).toMatch(/^runstream_outbox_lag_seconds 0$/m);
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      // The valid prefix went out; nothing from the bad event on, and no seq was skipped.
      expect(collector.get(poison).seqs).toEqual([1, 2, 3]);
      const { rows } = await t.db.pool.query<{
        seq: number;
        attempts: number;
        last_error: string;
        parked: boolean;
      }>(
        `SELECT seq, attempts, last_error, parked_at IS NOT NULL AS parked FROM run_outbox
        WHERE run_id = $1 AND published_at IS NULL ORDER BY seq`,
        [poison],
      );
      expect(rows.map((r) => r.seq)).toEqual([4, 5]);
      expect(rows[0]).toMatchObject({ attempts: 3, parked: true });
      expect(rows[0]!.last_error).toMatch(/event 4/);
      // The next suite counts parked runs from zero.
      await t.db.pool.query('DELETE FROM runs WHERE id = $1', [poison]);
    });

    it('stops on SIGTERM mid-batch within 10 s with exit code 0, marking nothing it did not publish', async () => {
      const runIds = await followNewRuns(10);
      for (const id of runIds) await appendEvents(id, 1000, 500);
      const worker = spawnWorker(
        workerEnv({ RUNSTREAM_OUTBOX_MAX_RUNS: '1', RUNSTREAM_OUTBOX_MAX_EVENTS_PER_RUN: '100' }),
      );
      await vi.waitUntil(() => collector.total() >= 500, poll);
      const started = Date.now();
      const exit = await worker.kill('SIGTERM');
      expect(exit).toEqual({ code: 0, signal: null });
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(worker.output()).toMatch(/"msg":"stopped"/);
      expect(await unpublished(runIds)).toBeGreaterThan(0);
      await expectMarkedWereDelivered(collector, runIds);
      spawnWorker(workerEnv());
      await expectExactlyOnceInOrder(collector, runIds);
    });

    it.runIf(busCase.name === 'nats')(
      'carries on through a NATS restart: the subscriber resyncs and sees 1..N',
      async () => {
        const runIds = await followNewRuns(10);
        spawnWorker(workerEnv());
        spawnWorker(workerEnv());
        const appending = Promise.all(runIds.map((id) => appendEvents(id, 300, 5, false)));
        await vi.waitUntil(() => collector.total() >= 300, poll);
        await nats.stop('SIGKILL');
        await nats.start();
        await vi.waitUntil(() => collector.resyncs() >= runIds.length, {
          ...poll,
          timeout: 20_000,
        });
        await appending;
        const liveBefore = collector.liveTotal();
        await Promise.all(runIds.map((id) => appendEvents(id, 50, 5)));
        await expectExactlyOnceInOrder(collector, runIds);
        // Publishing resumed on the new broker: events after the restart arrived live, not only from the database.
        expect(collector.liveTotal()).toBeGreaterThan(liveBefore);
      },
    );
  },
);

it('reads the configuration once: a bad value stops the process with one line naming it', async () => {
  const worker = spawnWorker({ DATABASE_URL: t.url, RUNSTREAM_OUTBOX_POLL_INTERVAL_MS: 'soon' });
  const exit = await worker.exited;
  expect(exit.code).toBe(1);
  expect(worker.output().trim()).toBe(
    'RUNSTREAM_OUTBOX_POLL_INTERVAL_MS: must be a whole number from 10 to 60000',
  );
});

describe.runIf(withNats)(
  'NATS credentials (contract "Live bus": RUNSTREAM_BUS=nats://user:password@host:port or nats://token@host:port)',
  () => {
    const PASSWORD = 'pa55-w0rd-never-printed';
    const TOKEN = 't0ken-never-printed';
    let secured: TestNatsServer;
    let tokenServer: TestNatsServer;
    beforeAll(async () => {
      secured = await startNatsServer({ args: ['--user', 'runstream', '--pass', PASSWORD] });
      tokenServer = await startNatsServer({ args: ['--auth', TOKEN] });
    });
    afterAll(async () => {
      await secured?.close();
      await tokenServer?.close();
    });
    const withCredentials = (server: TestNatsServer, userinfo: string) =>
      server.url.replace('nats://', `nats://${userinfo}@`);

    it('publishes with the right user and password, and never prints them', async () => {
      const bus = await createBus(
        { kind: 'nats', url: secured.url, credentials: { user: 'runstream', pass: PASSWORD } },
        { databaseUrl: t.url, signingKey: await loadBusSigningKey(t.db.pool) },
      );
      try {
        const collector = createCollector(bus, repos.events);
        const run = await seedRun(repos);
        await collector.follow(run.id);
        const worker = spawnWorker({
          DATABASE_URL: t.url,
          LOG_LEVEL: 'debug',
          RUNSTREAM_BUS: withCredentials(secured, `runstream:${PASSWORD}`),
        });
        await appendEvents(run.id, 50, 10);
        await expectExactlyOnceInOrder(collector, [run.id]);
        expect(await worker.kill('SIGTERM')).toEqual({ code: 0, signal: null });
        expect(worker.output()).toMatch(/outbox worker started/);
        expect(worker.output()).not.toContain(PASSWORD);
      } finally {
        await bus.close();
      }
    });

    it('starts with the right token', async () => {
      const worker = spawnWorker({
        DATABASE_URL: t.url,
        RUNSTREAM_BUS: withCredentials(tokenServer, TOKEN),
      });
      await vi.waitUntil(() => /outbox worker started/.test(worker.output()), {
        timeout: 10_000,
        interval: 20,
      });
      expect(await worker.kill('SIGTERM')).toEqual({ code: 0, signal: null });
      expect(worker.output()).not.toContain(TOKEN);
    });

    it.each([
      ['a wrong password', () => withCredentials(secured, `runstream:${PASSWORD}x`)],
      ['no credentials', () => secured.url],
      ['a wrong token', () => withCredentials(tokenServer, `${TOKEN}x`)],
    ])('%s stops the start with one line naming RUNSTREAM_BUS, exit 1', async (_, bus) => {
      const worker = spawnWorker({ DATABASE_URL: t.url, RUNSTREAM_BUS: bus() });
      const exit = await worker.exited;
      expect(exit.code).toBe(1);
      const output = worker.output().trim();
      expect(output.split('\n')).toHaveLength(1);
      expect(output).toMatch(
        /^RUNSTREAM_BUS: cannot connect to nats:\/\/127\.0\.0\.1:\d+ \(Authorization Violation\)$/,
      );
      expect(output).not.toContain(PASSWORD);
      expect(output).not.toContain(TOKEN);
    });
  },
);
