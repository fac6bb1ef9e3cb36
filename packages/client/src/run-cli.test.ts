import { describe, expect, it } from 'vitest';

import { EXIT, formatEvent, runCli } from './run-cli.js';

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
