import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { createRunstreamClient } from '@runstream/client';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ROOT,
  type Spawned,
  descendants,
  freePort,
  isAlive,
  spawnNode,
  stop,
  waitFor,
} from '@runstream/testkit';

/** `pnpm start` without pnpm around it, so that signals reach it as they do from a terminal. */
const START = ['--import', 'tsx', 'tooling/dev/src/start.ts'];

// `pnpm start` as a newcomer runs it: no DATABASE_URL, so an embedded PostgreSQL in its own state
// folder (a temporary one here, instead of .runstream/), the three built apps, then Ctrl-C.
describe('pnpm start (tooling/dev)', () => {
  // A checkout-like folder whose state folder is `.runstream`, as in a real checkout.
  const checkout = mkdtempSync(join(tmpdir(), 'runstream-start-'));
  const home = join(checkout, '.runstream');
  // As root, PostgreSQL runs as the user "postgres", which must be able to enter the folder.
  chmodSync(checkout, 0o755);
  const started: Spawned[] = [];

  const env = (port: number): NodeJS.ProcessEnv => {
    const e: NodeJS.ProcessEnv = {
      ...process.env,
      RUNSTREAM_HOME: home,
      RUNSTREAM_SKIP_BUILD: '1',
      PORT: String(port),
      RUNSTREAM_PG_PORT: '0',
      RUNSTREAM_OUTBOX_METRICS_PORT: '0',
      RUNSTREAM_RUN_WORKER_METRICS_PORT: '0',
      NO_COLOR: '1',
    };
    delete e.DATABASE_URL;
    return e;
  };

  afterAll(async () => {
    for (const s of started) await stop(s);
    rmSync(checkout, { recursive: true, force: true });
  });

  it('runs everything on an embedded PostgreSQL, refuses a second start, and stops without leftovers on SIGINT', async () => {
    const port = await freePort();
    const start = spawnNode(START, { env: env(port) });
    started.push(start);
    const url = await waitFor(
      'the viewer URL',
      () => {
        if (start.child.exitCode !== null)
          throw new Error(`pnpm start exited early:\n${start.output()}`);
        return /viewer:\s+(http:\/\/\S+)\//.exec(start.output())?.[1];
      },
      120_000,
    );
    expect(url).toBe(`http://127.0.0.1:${port}`);
    const tree = descendants(start.child.pid!);
    expect(tree.length).toBeGreaterThanOrEqual(4); // supervisor, postgres, three apps

    const client = createRunstreamClient({ baseUrl: url });
    const { run } = await client.runs.create({ graph: 'synthetic', input: { events: 5 } });
    const seqs: number[] = [];
    for await (const event of client.runs.events(run.id)) seqs.push(event.seq);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    expect((await client.runs.get(run.id)).status).toBe('succeeded');

    // The CLI, run in a folder of that checkout with RUNSTREAM_URL unset, finds this start (on a
    // free port, not the default 3000) through its lock.
    const cwd = join(checkout, 'packages', 'app');
    mkdirSync(cwd, { recursive: true });
    const cliEnv = { ...process.env };
    delete cliEnv.RUNSTREAM_URL;
    const cli = spawnNode(
      [join(ROOT, 'packages', 'client', 'dist', 'cli.js'), 'runs', 'get', run.id],
      {
        cwd,
        env: cliEnv,
      },
    );
    expect((await cli.exited).code, cli.output()).toBe(0);
    expect(cli.output()).toContain(`"id": "${run.id}"`);

    const second = spawnNode(START, { env: env(await freePort()) });
    started.push(second);
    expect((await second.exited).code).toBe(1);
    expect(second.output()).toMatch(
      /already running \(pid \d+.*viewer at http:\/\/127\.0\.0\.1:\d+\//,
    );

    start.child.kill('SIGINT');
    expect(await start.exited).toEqual({ code: 0, signal: null });
    await waitFor('every child process to end', () => tree.every((pid) => !isAlive(pid)), 20_000);
    expect(existsSync(join(home, 'pg', 'postmaster.pid'))).toBe(false);
    expect(existsSync(join(home, 'start.json'))).toBe(false);
    expect(start.output()).toMatch(/\[api\]\s+\[[\d:.]+\] INFO: /);
    // The apps stopped while PostgreSQL still answered: the stop order held.
    expect(start.output()).not.toMatch(/database system is shutting down|57P03/);
  });
});
