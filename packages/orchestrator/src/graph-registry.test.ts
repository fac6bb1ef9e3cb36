import { describe, expect, it } from 'vitest';

import { GraphDefinitionError, GraphInputError } from './errors.js';
import { defineGraph } from './graph.js';
import { createDefaultGraphRegistry, createGraphRegistry } from './graph-registry.js';
import { z } from 'zod';

function refusal(fn: () => unknown): GraphInputError {
  try {
    fn();
  } catch (error) {
    if (error instanceof GraphInputError) return error;
    throw error;
  }
  throw new Error('expected a GraphInputError');
}

describe('the graph registry', () => {
  const registry = createDefaultGraphRegistry();

  it('holds the built-in graphs', () => {
    expect(registry.names()).toEqual(['demo', 'synthetic']);
    expect(registry.get('demo')?.start).toBe('plan');
    expect(registry.get('nope')).toBeUndefined();
  });

  it('parses synthetic input per the contract', () => {
    expect(registry.parseInput('synthetic', { events: 3 })).toEqual({ events: 3 });
    expect(
      registry.parseInput('synthetic', {
        events: 100_000,
        delayMs: 1,
        payloadBytes: 10,
        failAt: 100_000,
      }),
    ).toMatchObject({
      failAt: 100_000,
    });
    expect(registry.parseInput('demo', undefined)).toEqual({
      prompt: 'What is Runstream?',
      delayMs: 15,
    });
  });

  it('refuses an unknown graph, naming the graph field', () => {
    const error = refusal(() => registry.parseInput('nope', {}));
    expect(error.code).toBe('UNKNOWN_GRAPH');
    expect(error.details[0]?.path).toEqual(['graph']);
  });

  it.each([
    [{}, ['input', 'events']],
    [{ events: 0 }, ['input', 'events']],
    [{ events: 100_001 }, ['input', 'events']],
    [{ events: 1.5 }, ['input', 'events']],
    [{ events: 5, failAt: 6 }, ['input', 'failAt']],
    [{ events: 5, failAt: 0 }, ['input', 'failAt']],
    [{ events: 5, delayMs: -1 }, ['input', 'delayMs']],
    [{ events: 5, colour: 'red' }, ['input']],
    ['five', ['input']],
  ])('refuses synthetic input %j at %j', (input, path) => {
    const error = refusal(() => registry.parseInput('synthetic', input));
    expect(error.code).toBe('INVALID_INPUT');
    expect(error.details[0]?.path).toEqual(path);
  });

  it('names the unknown field of a strict input', () => {
    const error = refusal(() => registry.parseInput('synthetic', { events: 1, colour: 'red' }));
    expect(error.details[0]).toMatchObject({ code: 'unrecognized_keys', keys: ['colour'] });
  });

  it('registers another graph in one call and checks its edges', () => {
    const mine = createGraphRegistry().register(
      defineGraph({
        name: 'echo',
        input: z.object({ say: z.string() }),
        start: 'echo',
        nodes: { echo: (input) => input },
      }),
    );
    expect(mine.parseInput('echo', { say: 'hi' })).toEqual({ say: 'hi' });
    expect(() =>
      mine.register(
        defineGraph({ name: 'echo', input: z.object({}), start: 'a', nodes: { a: () => 1 } }),
      ),
    ).toThrow(GraphDefinitionError);
    expect(() =>
      mine.register(
        defineGraph({
          name: 'bad',
          input: z.object({}),
          start: 'a',
          nodes: { a: () => 1 },
          edges: [{ from: 'a', to: 'b' }],
        }),
      ),
    ).toThrow(/unknown node "b"/);
    expect(() =>
      mine.register(defineGraph({ name: 'bad2', input: z.object({}), start: 'x', nodes: {} })),
    ).toThrow(/start node/);
  });
});
