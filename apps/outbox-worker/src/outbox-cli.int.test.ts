import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { loadBusSigningKey } from '@runstream/persistence';
import { seedRun, useTestDatabase } from '@runstream/persistence/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';

import { killAllWorkers, spawnWorker } from './testing/harness.js';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

const t = useTestDatabase({ beforeAll, afterAll }, { poolSize: 4 });
const repos = t.repos;

afterAll(async () => {
  await killAllWorkers();
});
afterEach(async () => killAllWorkers());
beforeEach(async () => {
  await t.db.pool.query('UPDATE run_outbox SET published_at = now() WHERE published_at IS NULL');
  await t.db.pool.query('UPDATE run_outbox SET parked_at = NULL WHERE parked_at IS NOT NULL');
});

/** Runs the built command line as an operator would, with only DATABASE_URL (unless told). */
function cli(
  args: string[],
  env: Record<string, string> = { DATABASE_URL: t.url },
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: { PATH: process.env.PATH, ...env } },
      (error, stdout, stderr) =>
        resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** A run with three events whose head the worker parked, as after repeated failures. */
async function parkedRun(error: string): Promise<string> {
  const run = await seedRun(repos);
  await repos.events.append(run.id, [
    { type: 'text.delta', data: { text: '1' } },
    { type: 'text.delta', data: { text: '2' } },
  ]);
  expect(await repos.outbox.recordFailure(run.id, error, 1)).toBe(true);
  return run.id;
}

const oneLine = (text: string) => {
  expect(text.trim().split('\n')).toHaveLength(1);
  return text.trim();
};

describe('runstream-outbox (the operator CLI)', () => {
  it('prints its help with exit 0, and the usage on stderr with exit 2 when no command is given', async () => {
    const help = await cli(['help'], {});
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/runstream-outbox parked/);
    expect(help.stdout).toMatch(/runstream-outbox unpark <runId>/);
    expect(help.stdout).toMatch(/Exit codes/);
    expect((await cli(['--help'], {})).code).toBe(0);
    const none = await cli([], {});
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/Usage:/);
  });

  it('lists parked runs with the seq each stopped at, attempts and last error on one line; --json for scripts', async () => {
    expect(await cli(['parked'])).toMatchObject({ code: 0, stdout: 'no parked runs\n' });
    const a = await parkedRun('event 1 breaks the envelope contract:\n  type: too small');
    const b = await parkedRun('event 1 does not exist: its outbox row is an orphan');
    const listed = await cli(['parked']);
    expect(listed.code).toBe(0);
    const lines = listed.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^RUN\s+SEQ\s+ATTEMPTS\s+PARKED AT\s+LAST ERROR$/);
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(
      new RegExp(
        `^${a}\\s+1\\s+1\\s+\\S+Z\\s+event 1 breaks the envelope contract: type: too small$`,
      ),
    );
    expect(lines[2]).toMatch(new RegExp(`^${b}\\s+1\\s+1\\s+`));
    const json = await cli(['parked', '--json']);
    expect(JSON.parse(json.stdout)).toEqual([
      expect.objectContaining({ runId: a, seq: 1, attempts: 1 }),
      expect.objectContaining({ runId: b, seq: 1, attempts: 1 }),
    ]);
  });

  it('unparks one run (any case of its id) or all of them; a run that is not parked is exit 1 with one line', async () => {
    const a = await parkedRun('boom');
    const b = await parkedRun('boom');
    const c = await parkedRun('boom');
    expect(await cli(['unpark', a.toUpperCase()])).toMatchObject({
      code: 0,
      stdout: `unparked run ${a}\n`,
    });
    const again = await cli(['unpark', a]);
    expect(again.code).toBe(1);
    expect(oneLine(again.stderr)).toBe(`runstream-outbox: run ${a} is not parked`);
    expect(await cli(['unpark', '--all'])).toMatchObject({ code: 0, stdout: 'unparked 2 runs\n' });
    const { rows } = await t.db.pool.query<{ parked: number; attempts: number }>(
      `SELECT count(*) FILTER (WHERE parked_at IS NOT NULL)::int AS parked,
              coalesce(sum(attempts), 0)::int AS attempts
         FROM run_outbox WHERE run_id = ANY($1::uuid[])`,
      [[a, b, c]],
    );
    expect(rows[0]).toEqual({ parked: 0, attempts: 0 });
  });

  it('a worker publishes an unparked run at once (the CLI wakes it; its fallback poll is a minute)', async () => {
    const runId = await parkedRun('boom');
    const worker = spawnWorker({
      DATABASE_URL: t.url,
      RUNSTREAM_BUS: 'postgres',
      RUNSTREAM_OUTBOX_POLL_INTERVAL_MS: '60000',
    });
    await worker.metricsPort();
    const unpublished = async () =>
      (
        await t.db.pool.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM run_outbox WHERE run_id = $1 AND published_at IS NULL',
          [runId],
        )
      ).rows[0]!.n;
    expect(await unpublished()).toBe(3);
    expect((await cli(['unpark', runId])).code).toBe(0);
    await vi.waitUntil(async () => (await unpublished()) === 0, { timeout: 15_000, interval: 50 });
  });

  it('rotates the bus signing key', async () => {
    const before = await loadBusSigningKey(t.db.pool);
    const rotated = await cli(['rotate-bus-key']);
    expect(rotated.code).toBe(0);
    expect(rotated.stdout).toMatch(/restart the api and outbox workers/);
    expect((await loadBusSigningKey(t.db.pool)).equals(before)).toBe(false);
  });

  it('wrong usage is exit 2 with one line; a missing or unreachable database is exit 1 with one line', async () => {
    for (const args of [
      ['unpark'],
      ['unpark', 'not-a-run-id'],
      ['unpark', '--all', '0190f0f0-0000-7000-8000-000000000001'],
      ['unpark', '--force'],
      ['parked', 'extra'],
      ['park'],
    ]) {
      const result = await cli(args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(oneLine(result.stderr)).toMatch(
        /^runstream-outbox: .+ \(see runstream-outbox help\)$/,
      );
    }
    const missing = await cli(['parked'], {});
    expect(missing.code).toBe(1);
    expect(oneLine(missing.stderr)).toMatch(/^DATABASE_URL: /);
    const unreachable = await cli(['parked'], {
      DATABASE_URL: 'postgres://postgres@127.0.0.1:1/x',
    });
    expect(unreachable.code).toBe(1);
    expect(oneLine(unreachable.stderr)).toMatch(
      /^runstream-outbox: cannot reach the database: .*ECONNREFUSED/,
    );
  });
});
