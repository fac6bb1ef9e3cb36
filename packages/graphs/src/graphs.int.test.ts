import { RunInputError } from '@runstream/graph-catalog';
import { runGraph } from '@runstream/orchestrator/testing';
import { useTestDatabase } from '@runstream/persistence/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { demoGraph, syntheticGraph } from './index.js';

const t = useTestDatabase({ beforeAll, afterAll }, { poolSize: 6 });

describe('demo', () => {
  it('plans, calls a tool, streams its answer, and ends with it', async () => {
    const { events, output, status } = await runGraph(
      demoGraph,
      { prompt: 'What is Runstream?', delayMs: 0 },
      { db: t.db },
    );
    expect(status).toBe('succeeded');
    const types = events.map((e) => e.type);
    expect(types.slice(0, 3)).toEqual(['run.queued', 'run.started', 'node.started']);
    expect(types.indexOf('tool.call')).toBeGreaterThan(0);
    expect(types.indexOf('tool.call')).toBeLessThan(types.indexOf('tool.result'));
    expect(types.filter((x) => x === 'text.delta').length).toBeGreaterThan(5);
    const answer = events
      .filter((e) => e.type === 'text.delta' && e.data.node === 'answer')
      .map((e) => e.data.text)
      .join('');
    expect(output).toEqual({ answer });
  });

  it('takes an empty input: its fields have defaults', async () => {
    const { status } = await runGraph(demoGraph, { delayMs: 0 }, { db: t.db });
    expect(status).toBe('succeeded');
  });
});

describe('synthetic', () => {
  it('emits n ticks after its start events, then run.completed', async () => {
    const { events } = await runGraph(
      syntheticGraph,
      { events: 500, payloadBytes: 16 },
      { db: t.db },
    );
    expect(events).toHaveLength(2 + 500 + 1);
    expect(events.slice(2, -1).map((e) => e.data.index)).toEqual(
      Array.from({ length: 500 }, (_, i) => i + 1),
    );
    expect(events[2]!.data.payload).toHaveLength(16);
    expect(events.at(-1)!.type).toBe('run.completed');
  });

  it('with failAt ends run.failed right after the k-th tick, with a code and a message', async () => {
    const { events, error } = await runGraph(
      syntheticGraph,
      { events: 50, failAt: 7 },
      { db: t.db },
    );
    expect(events.map((e) => e.type)).toEqual([
      'run.queued',
      'run.started',
      ...Array<string>(7).fill('synthetic.tick'),
      'run.failed',
    ]);
    expect(error).toMatchObject({ code: 'SYNTHETIC_FAILURE', message: expect.any(String) });
    expect(events.at(-1)!.data).toMatchObject({ node: 'emit' });
  });

  it('input the registered JSON Schema refuses is refused before any run is created', async () => {
    for (const input of [
      {},
      { events: 0 },
      { events: 1, colour: 'red' },
      { events: 1, failAt: 100_001 },
    ])
      await expect(runGraph(syntheticGraph, input, { db: t.db })).rejects.toBeInstanceOf(
        RunInputError,
      );
  });

  it('ADR 0021: failAt past events, which plain JSON Schema cannot say, is refused at the door by the x-runstream-le annotation: INVALID_INPUT naming input.failAt, no run created', async () => {
    const error = await runGraph(syntheticGraph, { events: 3, failAt: 5 }, { db: t.db }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RunInputError);
    expect(error).toMatchObject({
      code: 'INVALID_INPUT',
      message: 'input.failAt: must be at most events (3)',
      details: [expect.objectContaining({ path: ['input', 'failAt'] })],
    });
    const { rows } = await t.db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM runs WHERE input->>'failAt' = '5'`,
    );
    expect(rows[0]!.n).toBe(0);
  });
});
