import { createHash } from 'node:crypto';

import type { GraphRegistration } from '@runstream/persistence';
import { z } from 'zod';

import { GraphDefinitionError } from './errors.js';
import type { GraphDefinition } from './graph.js';

/**
 * What a worker registers for a graph it serves: its input as JSON Schema (draft 2020-12, the
 * input side: a field with a default is optional), and a version that is a hash of that schema and
 * the description, so two builds whose graph takes the same input share a version. Refinements
 * (`.refine`) have no JSON Schema: the api cannot check them, the worker does (ADR 0021). An input
 * JSON Schema cannot describe at all (a Date, a bigint, a function) is a GraphDefinitionError.
 */
export function graphRegistration(graph: GraphDefinition): GraphRegistration {
  let inputSchema: Record<string, unknown>;
  try {
    inputSchema = z.toJSONSchema(graph.input, {
      io: 'input',
      target: 'draft-2020-12',
      unrepresentable: 'throw',
    });
  } catch (error) {
    throw new GraphDefinitionError(
      'INVALID_GRAPH',
      `graph "${graph.name}": its input schema has no JSON Schema (${error instanceof Error ? error.message : String(error)}); a run's input is JSON`,
      { cause: error },
    );
  }
  const version = createHash('sha256')
    .update(canonicalJson({ description: graph.description ?? null, inputSchema }))
    .digest('hex')
    .slice(0, 24);
  return {
    name: graph.name,
    version,
    ...(graph.description === undefined ? {} : { description: graph.description }),
    inputSchema,
  };
}

/** JSON with object keys sorted at every depth: equal values hash equal, whatever their key order. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
