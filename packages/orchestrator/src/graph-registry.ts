import type { GraphRegistration } from '@runstream/persistence';
import type { z } from 'zod';

import { GraphDefinitionError, GraphInputError } from './errors.js';
import type { GraphDefinition } from './graph.js';
import { graphRegistration } from './graph-registration.js';

/** The graphs one worker serves. */
export interface GraphRegistry {
  /**
   * Adds a graph after checking its edges and its input's JSON Schema; a taken name is a
   * GraphDefinitionError.
   */
  register<I>(graph: GraphDefinition<I>): GraphRegistry;
  get(name: string): GraphDefinition | undefined;
  /** Registered names, sorted. */
  names(): string[];
  /** What the worker registers in PostgreSQL for its graphs (name, version, input JSON Schema), by name. */
  registrations(): GraphRegistration[];
  /**
   * The graph's parsed input (defaults applied); an absent input is parsed as `{}`. Throws
   * GraphInputError `UNKNOWN_GRAPH` or `INVALID_INPUT` with the zod issues.
   */
  parseInput(name: string, input: unknown): unknown;
}

/** A registry holding `graphs` (none by default); `register` adds more. */
export function createGraphRegistry(graphs: readonly GraphDefinition[] = []): GraphRegistry {
  const byName = new Map<string, { graph: GraphDefinition; registration: GraphRegistration }>();
  const registry: GraphRegistry = {
    register(graph) {
      if (byName.has(graph.name))
        throw new GraphDefinitionError(
          'DUPLICATE_GRAPH',
          `graph "${graph.name}" is already registered`,
        );
      checkGraph(graph);
      byName.set(graph.name, {
        graph: graph,
        registration: graphRegistration(graph),
      });
      return registry;
    },
    get: (name) => byName.get(name)?.graph,
    names: () => [...byName.keys()].sort(),
    registrations: () => registry.names().map((name) => byName.get(name)!.registration),
    parseInput(name, input) {
      const graph = byName.get(name)?.graph;
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
  for (const graph of graphs) registry.register(graph);
  return registry;
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
