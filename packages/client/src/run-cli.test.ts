import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import type { ListRunsQuery, RunPage } from '@runstream/contract';

import type { RunstreamClient } from './client.js';
import { DEFAULT_URL, EXIT, formatEvent, invokedAs, resolveBaseUrl, runCli } from './run-cli.js';

function io() {
  const out: string[] = [];
  const err: string[] = [];
  // No api listens on port 9: a test that reached the network would fail with exit 1, not 2.
  return {
    out,
    err,
    io: {
      stdout: (t: string) => out.push(t),
      stderr: (t: string) => err.push(t),
      env: { RUNSTREAM_URL: 'http://127.0.0.1:9' },
    },
  };
}

describe('runCli', () => {
  it.each([
    [['runs', 'create'], /missing argument: runs create <graph>/],
    [['runs', 'create', 'demo', '--input', '{bad'], /--input: not valid JSON/],
    [['runs', 'create', 'demo', '--input', '[1]'], /--input: must be a JSON object/],
    [['runs', 'list', '--status', 'done'], /--status: must be one of/],
    [['runs', 'list', '--limit', '0'], /--limit: must be a whole number/],
    [['tail', 'run_1', '--from-seq', 'x'], /--from-seq/],
    [['frobnicate'], /unknown command: frobnicate/],
    [['runs', 'get', 'x', '--nope'], /Unknown option '--nope'/],
  ])('%j is a usage error (exit 2) before any request', async (argv, message) => {
    const t = io();
    expect(await runCli(argv, t.io)).toBe(EXIT.usage);
    expect(t.err.join('')).toMatch(message);
  });

  it('prints help on stdout with --help, exit 0', async () => {
    const t = io();
    expect(await runCli(['--help'], t.io)).toBe(EXIT.ok);
    expect(t.out.join('')).toMatch(/Usage: runstream/);
  });

  it('says the api cannot be reached, exit 1', async () => {
    const t = io();
    expect(await runCli(['runs', 'list'], t.io)).toBe(EXIT.error);
    expect(t.err.join('')).toMatch(/cannot reach http:\/\/127\.0\.0\.1:9.*\[NETWORK_ERROR\]/);
  });
});

describe('formatEvent', () => {
  it('shows text deltas as quoted text', () => {
    const line = formatEvent({
      runId: 'r',
      seq: 7,
      type: 'text.delta',
      at: '2026-01-01T10:11:12.345Z',
      data: { text: 'hi' },
    });
    expect(line).toBe('    7  10:11:12.345  text.delta      "hi"\n');
  });
});

describe('runstream --version and help per command', () => {
  const version = (
    JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version: string;
    }
  ).version;

  it.each([['--version'], ['-v']])('%s prints the version, exit 0', async (flag) => {
    const t = io();
    expect(await runCli([flag], t.io)).toBe(EXIT.ok);
    expect(t.out.join('')).toBe(`${version}\n`);
  });

  it.each([
    [['runs', '--help']],
    [['help', 'runs']],
    [['runs', 'list', '--help']],
    [['runs', '-h']],
  ])('%j prints the help of runs, not the global help, exit 0', async (argv) => {
    const t = io();
    expect(await runCli(argv, t.io)).toBe(EXIT.ok);
    const out = t.out.join('');
    expect(out).toMatch(/^Usage: runstream runs <create\|list\|get\|cancel>/);
    expect(out).toMatch(/--idempotency-key/);
    expect(out).toMatch(/--status: queued, running, succeeded, failed or cancelled/);
    expect(out).not.toMatch(/Commands:/);
  });

  it.each([[['tail', '--help']], [['help', 'tail']]])(
    '%j prints the help of tail, exit 0',
    async (argv) => {
      const t = io();
      expect(await runCli(argv, t.io)).toBe(EXIT.ok);
      expect(t.out.join('')).toMatch(/^Usage: runstream tail <runId> \[--from-seq <n>\]/);
    },
  );

  it('a usage error in a command shows that command help', async () => {
    const t = io();
    expect(await runCli(['tail'], t.io)).toBe(EXIT.usage);
    expect(t.err.join('')).toMatch(/missing argument: tail <runId>\nUsage: runstream tail/);
    const u = io();
    expect(await runCli(['runs'], u.io)).toBe(EXIT.usage);
    expect(u.err.join('')).toMatch(/Usage: runstream runs/);
    const v = io();
    expect(await runCli(['tail', 'r1', '--nope'], v.io)).toBe(EXIT.usage);
    expect(v.err.join('')).toMatch(/Unknown option '--nope'[\s\S]*Usage: runstream tail/);
  });
});

describe('the api URL when RUNSTREAM_URL is unset: the running pnpm start of this folder', () => {
  const root = mkdtempSync(join(tmpdir(), 'runstream-cli-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  /** A checkout at `dir` whose `pnpm start` lock names `url` and `pid`; returns a folder inside. */
  const checkout = (dir: string, lock: string | { pid: number; url: string }): string => {
    mkdirSync(join(root, dir, '.runstream'), { recursive: true });
    mkdirSync(join(root, dir, 'packages', 'app'), { recursive: true });
    const text = typeof lock === 'string' ? lock : JSON.stringify({ ...lock, startedAt: 'x' });
    writeFileSync(join(root, dir, '.runstream', 'start.json'), text);
    return join(root, dir, 'packages', 'app');
  };
  // A pid that was just used and is gone.
  const deadPid = spawnSync(process.execPath, ['-e', '']).pid;

  it('runs list asks the URL of the lock two folders up, its process being alive', async () => {
    const cwd = checkout('live', { pid: process.pid, url: 'http://127.0.0.1:9' });
    const err: string[] = [];
    const code = await runCli(['runs', 'list'], {
      stdout: () => undefined,
      stderr: (t) => err.push(t),
      env: {},
      cwd,
    });
    expect(code).toBe(EXIT.error);
    expect(err.join('')).toMatch(/cannot reach http:\/\/127\.0\.0\.1:9\b.*\[NETWORK_ERROR\]/);
  });

  it('RUNSTREAM_URL wins over the lock', () => {
    const cwd = checkout('both', { pid: process.pid, url: 'http://127.0.0.1:9' });
    expect(resolveBaseUrl({ RUNSTREAM_URL: 'http://api.example:8080' }, cwd)).toBe(
      'http://api.example:8080',
    );
    expect(resolveBaseUrl({ RUNSTREAM_URL: '' }, cwd)).toBe('http://127.0.0.1:9');
  });

  it('a stale lock (its process gone), a torn one, or none: the default URL', () => {
    expect(resolveBaseUrl({}, checkout('stale', { pid: deadPid, url: 'http://127.0.0.1:9' }))).toBe(
      DEFAULT_URL,
    );
    expect(resolveBaseUrl({}, checkout('torn', '{"pid": 1'))).toBe(DEFAULT_URL);
    expect(resolveBaseUrl({}, join(root))).toBe(DEFAULT_URL);
  });

  it('the nearest lock is the one: a stale inner checkout does not fall through to an outer one', () => {
    checkout('outer', { pid: process.pid, url: 'http://127.0.0.1:7001' });
    const inner = checkout(join('outer', 'inner'), { pid: deadPid, url: 'http://127.0.0.1:7002' });
    expect(resolveBaseUrl({}, inner)).toBe(DEFAULT_URL);
    const live = checkout(join('outer', 'live-inner'), {
      pid: process.pid,
      url: 'http://127.0.0.1:7003',
    });
    expect(resolveBaseUrl({}, live)).toBe('http://127.0.0.1:7003');
  });
});

describe('runs list: status names and the next-page hint', () => {
  const run = {
    id: 'r1',
    graph: 'demo',
    input: {},
    status: 'succeeded' as const,
    lastSeq: 9,
    createdAt: '2026-01-01T00:00:00.000Z',
    startedAt: null,
    finishedAt: null,
    error: null,
  };
  /** A client whose list() records its queries and answers one page with more to come. */
  const listing = () => {
    const queries: ListRunsQuery[] = [];
    const page: RunPage = { runs: [run], nextCursor: 'c2' };
    const client = {
      runs: {
        list: async (query: ListRunsQuery) => {
          queries.push(query);
          return page;
        },
      },
    } as unknown as RunstreamClient;
    return { client, queries };
  };
  const runList = async (argv: string[], env: Record<string, string | undefined> = {}) => {
    const { client, queries } = listing();
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(['runs', 'list', ...argv], {
      stdout: (t) => out.push(t),
      stderr: (t) => err.push(t),
      env,
      client,
    });
    return { code, out: out.join(''), err: err.join(''), queries };
  };

  it.each([
    ['completed', 'succeeded'],
    ['run.completed', 'succeeded'],
    ['started', 'running'],
    ['run.started', 'running'],
    ['failed', 'failed'],
    ['run.cancelled', 'cancelled'],
    ['queued', 'queued'],
  ])('--status %s lists %s runs', async (given, status) => {
    const { code, queries } = await runList(['--status', given]);
    expect(code).toBe(EXIT.ok);
    expect(queries).toEqual([expect.objectContaining({ status })]);
  });

  it('an unknown --status names the statuses and the event names it takes for them', async () => {
    const { code, err, queries } = await runList(['--status', 'done']);
    expect(code).toBe(EXIT.usage);
    expect(err).toMatch(
      /--status: must be one of queued, running, succeeded, failed, cancelled \(or an event name: started for running, completed for succeeded\)/,
    );
    expect(queries).toEqual([]);
  });

  it.each([
    [{}, 'runstream'],
    [
      {
        npm_lifecycle_event: 'runstream',
        npm_config_user_agent: 'pnpm/12.4.2 npm/? node/? linux x64',
      },
      'pnpm --silent runstream',
    ],
    [
      { npm_lifecycle_event: 'runstream', npm_config_user_agent: 'npm/11.19.1 node/v20.20.2' },
      'npm run --silent runstream --',
    ],
    [
      { npm_lifecycle_event: 'npx', npm_config_user_agent: 'npm/11.19.1 node/v20.20.2' },
      'npx runstream',
    ],
    [{ npm_config_user_agent: 'pnpm/12.4.2 npm/? node/? linux x64' }, 'pnpm exec runstream'],
  ])('the next-page hint is the command as it was run (%j)', async (env, prefix) => {
    expect(invokedAs(env)).toBe(prefix);
    const { out } = await runList(
      ['--status', 'completed', '--graph', 'my graph', '--limit', '1'],
      env,
    );
    expect(out).toMatch(/^ID +STATUS +GRAPH +EVENTS +CREATED\nr1 +succeeded +demo +9 /);
    expect(
      out.endsWith(
        `\nmore: ${prefix} runs list --status completed --graph 'my graph' --limit 1 --cursor c2\n`,
      ),
    ).toBe(true);
  });
});
