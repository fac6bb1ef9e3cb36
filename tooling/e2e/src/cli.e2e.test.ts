import { join } from 'node:path';

import { type ReceivedRunEvent, createRunstreamClient } from '@runstream/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ROOT, spawnNode, waitFor } from '@runstream/testkit';

import { type Stack, startStack } from './stack.js';

const CLI = join(ROOT, 'packages', 'client', 'dist', 'cli.js');

describe('runstream CLI and client against the real processes', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('tail prints every event exactly once across an api SIGKILL and restart, and exits 0', async () => {
    const client = createRunstreamClient({ baseUrl: stack.url });
    const { run } = await client.runs.create({
      graph: 'synthetic',
      input: { events: 200, delayMs: 20 },
    });
    const tail = spawnNode([CLI, 'tail', run.id, '--json'], {
      env: { ...process.env, RUNSTREAM_URL: stack.url },
    });
    await waitFor(
      '20 events on stdout',
      () =>
        tail
          .output()
          .split('\n')
          .filter((l) => l.startsWith('{')).length >= 20,
    );
    const api = stack.api();
    api.child.kill('SIGKILL');
    await api.exited;
    await stack.startApi();

    expect((await tail.exited).code).toBe(0);
    const seqs = tail
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => (JSON.parse(line) as { seq: number }).seq);
    const final = await client.runs.get(run.id);
    expect(final.status).toBe('succeeded');
    expect(seqs).toEqual(Array.from({ length: final.lastSeq }, (_, i) => i + 1));
    expect(tail.output()).toMatch(/stream dropped .* resuming after seq \d+/);
  });

  it('reports an unknown run with the api code and exit 1, and a cancel of an ended run as RUN_TERMINAL', async () => {
    const env = { ...process.env, RUNSTREAM_URL: stack.url };
    const get = spawnNode([CLI, 'runs', 'get', 'no-such-run'], { env });
    expect((await get.exited).code).toBe(1);
    expect(get.output()).toMatch(/\[RUN_NOT_FOUND 404\]/);

    const client = createRunstreamClient({ baseUrl: stack.url });
    const { run } = await client.runs.create({ graph: 'synthetic', input: { events: 1 } });
    for await (const _ of client.runs.events(run.id)) {
      // drain to the terminal event
    }
    const cancel = spawnNode([CLI, 'runs', 'cancel', run.id], { env });
    expect((await cancel.exited).code).toBe(1);
    expect(cancel.output()).toMatch(/\[RUN_TERMINAL 409\]/);
  });
  it('runs.stream and runs.wait follow real runs to their end: an output, an error code, a cancel', async () => {
    const client = createRunstreamClient({ baseUrl: stack.url });
    const seen: ReceivedRunEvent[] = [];
    for await (const event of client.runs.stream('synthetic', { events: 5 })) seen.push(event);
    expect(seen.map((e) => e.seq)).toEqual(Array.from({ length: seen.length }, (_, i) => i + 1));
    expect([seen[0]!.type, seen.at(-1)!.type]).toEqual(['run.queued', 'run.completed']);
    const ticks = seen.flatMap((e) => (e.type === 'synthetic.tick' ? [e.data.index] : []));
    expect(ticks).toEqual([1, 2, 3, 4, 5]);

    const succeeded = await client.runs.wait(seen[0]!.runId);
    expect(succeeded).toMatchObject({
      status: 'succeeded',
      output: { events: 5 },
      run: { id: seen[0]!.runId, status: 'succeeded', lastSeq: seen.length },
    });

    const { run: failing } = await client.runs.create({
      graph: 'synthetic',
      input: { events: 5, failAt: 3 },
    });
    const failed = await client.runs.wait(failing.id);
    expect(failed).toMatchObject({ status: 'failed', run: { status: 'failed' } });
    expect(failed.status === 'failed' && failed.error.code).toBe('SYNTHETIC_FAILURE');

    const { run: slow } = await client.runs.create({
      graph: 'synthetic',
      input: { events: 10_000, delayMs: 20 },
    });
    const waiting = client.runs.wait(slow.id);
    await client.runs.cancel(slow.id);
    expect(await waiting).toMatchObject({ status: 'cancelled', run: { status: 'cancelled' } });
  });
});
