import { describe, expect, it } from 'vitest';

import { GraphDefinitionError, GraphInputError } from './errors.js';
import { type GraphDefinition, defineGraph } from './graph.js';
import { createGraphRegistry } from './graph-registry.js';
import { z } from './index.js';

/** A graph whose input has the shape of the built-in synthetic's: bounds, strictness, a refinement. */
const counter = defineGraph({
  name: 'counter',
  input: z
    .strictObject({
      events: z.number().int().min(1).max(100_000),
      delayMs: z.number().int().min(0).optional(),
      failAt: z.number().int().min(1).optional(),
    })
    .refine((input) => input.failAt === undefined || input.failAt <= input.events, {
      message: 'failAt must be between 1 and events',
      path: ['failAt'],
    }),
  start: 'count',
  nodes: { count: (input) => input },
});

const greeter = defineGraph({
  name: 'greeter',
  description: 'says hello',
  input: z.strictObject({ name: z.string().default('world') }),
  start: 'greet',
  nodes: { greet: ({ name }: { name: string }) => ({ text: `hello ${name}` }) },
});

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
  const registry = createGraphRegistry([counter, greeter]);

  it('holds the graphs it was given', () => {
    expect(registry.names()).toEqual(['counter', 'greeter']);
    expect(registry.get('greeter')?.start).toBe('greet');
    expect(registry.get('nope')).toBeUndefined();
    expect(createGraphRegistry().names()).toEqual([]);
  });

  it('parses input with the graph schema, defaults applied', () => {
    expect(registry.parseInput('counter', { events: 3 })).toEqual({ events: 3 });
    expect(
      registry.parseInput('counter', { events: 100_000, delayMs: 1, failAt: 100_000 }),
    ).toMatchObject({ failAt: 100_000 });
    expect(registry.parseInput('greeter', undefined)).toEqual({ name: 'world' });
  });

  it('registers each graph with its input as JSON Schema (the input side) and a version', () => {
    const [first, second] = registry.registrations();
    expect(first).toMatchObject({
      name: 'counter',
      inputSchema: {
        $schema: 'https://json-schema.org/draft/2020-12/schema',
        type: 'object',
        required: ['events'],
        additionalProperties: false,
      },
    });
    expect(first).not.toHaveProperty('description');
    expect(second).toMatchObject({
      name: 'greeter',
      description: 'says hello',
      inputSchema: { properties: { name: { type: 'string', default: 'world' } } },
    });
    expect(second!.inputSchema.required).toBeUndefined();
    expect(first!.version).toMatch(/^[0-9a-f]{24}$/);
  });

  it('gives a new version to a changed input or description, and the same to the same graph', () => {
    const version = (graph: GraphDefinition) =>
      createGraphRegistry([graph]).registrations()[0]!.version;
    expect(version(greeter)).toBe(version({ ...greeter }));
    expect(version({ ...greeter, description: 'says hi' })).not.toBe(version(greeter));
    expect(
      version({ ...greeter, input: z.strictObject({ name: z.string().default('you') }) }),
    ).not.toBe(version(greeter));
  });

  it('refuses a graph whose input has no JSON Schema: a run input is JSON', () => {
    expect(() =>
      createGraphRegistry().register(
        defineGraph({
          name: 'dated',
          input: z.object({ when: z.date() }),
          start: 'a',
          nodes: { a: () => 1 },
        }),
      ),
    ).toThrow(/graph "dated": its input schema has no JSON Schema/);
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
  ])('refuses counter input %j at %j', (input, path) => {
    const error = refusal(() => registry.parseInput('counter', input));
    expect(error.code).toBe('INVALID_INPUT');
    expect(error.details[0]?.path).toEqual(path);
  });

  it('names the unknown field of a strict input', () => {
    const error = refusal(() => registry.parseInput('counter', { events: 1, colour: 'red' }));
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
