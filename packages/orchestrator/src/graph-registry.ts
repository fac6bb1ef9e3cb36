import type { z } from 'zod';

import { GraphDefinitionError, GraphInputError } from './errors.js';
import type { GraphDefinition } from './graph.js';
import { demoGraph } from './graphs/demo.js';
import { syntheticGraph } from './graphs/synthetic.js';

export interface GraphRegistry {
  /** Adds a graph after checking its edges; a taken name is a GraphDefinitionError. */
  register<I>(graph: GraphDefinition<I>): GraphRegistry;
  get(name: string): GraphDefinition | undefined;
  /** Registered names, sorted. */
  names(): string[];
  /**
   * The graph's parsed input (defaults applied); an absent input is parsed as `{}`. Throws
   * GraphInputError `UNKNOWN_GRAPH` or `INVALID_INPUT` with the zod issues.
   */
  parseInput(name: string, input: unknown): unknown;
}

export function createGraphRegistry(): GraphRegistry {
  const graphs = new Map<string, GraphDefinition>();
  const registry: GraphRegistry = {
    register(graph) {
      if (graphs.has(graph.name))
        throw new GraphDefinitionError(
          'DUPLICATE_GRAPH',
          `graph "${graph.name}" is already registered`,
        );
      checkGraph(graph);
      graphs.set(graph.name, graph);
      return registry;
    },
    get: (name) => graphs.get(name),
    names: () => [...graphs.keys()].sort(),
    parseInput(name, input) {
      const graph = graphs.get(name);
      if (!graph) {
        const message = `unknown graph "${name}" (known: ${registry.names().join(', ') || 'none'})`;
        const issue: z.core.$ZodIssue = { code: 'custom', path: ['graph'], message, input: name };
        throw new GraphInputError('UNKNOWN_GRAPH', message, [issue]);
      }
      const result = graph.input.safeParse(input ?? {});
      if (result.success) return result.data;
      const issues = result.error.issues.map((issue) => ({
        ...issue,
        path: ['input', ...issue.path],
      }));
      const first = issues[0];
      const message = first
        ? `${first.path.join('.')}: ${first.message}`
        : 'input does not fit the graph';
      throw new GraphInputError('INVALID_INPUT', message, issues, { cause: result.error });
    },
  };
  return registry;
}

/** A registry holding the built-in graphs, `demo` and `synthetic`. */
export function createDefaultGraphRegistry(): GraphRegistry {
  return createGraphRegistry().register(demoGraph).register(syntheticGraph);
}

function checkGraph(graph: GraphDefinition): void {
  const fail = (why: string): never => {
    throw new GraphDefinitionError('INVALID_GRAPH', `graph "${graph.name}": ${why}`);
  };
  if (!graph.name) fail('a graph needs a name');
  const has = (node: string) => Object.hasOwn(graph.nodes, node);
  if (!has(graph.start)) fail(`start node "${graph.start}" is not one of its nodes`);
  const leaving = new Set<string>();
  for (const edge of graph.edges ?? []) {
    if (!has(edge.from)) fail(`edge from unknown node "${edge.from}"`);
    if (leaving.has(edge.from)) fail(`node "${edge.from}" has more than one outgoing edge`);
    leaving.add(edge.from);
    const targets = typeof edge.to === 'string' ? [edge.to] : edge.to;
    for (const to of targets)
      if (!has(to)) fail(`edge from "${edge.from}" to unknown node "${to}"`);
  }
}
