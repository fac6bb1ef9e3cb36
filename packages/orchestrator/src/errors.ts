import type { z } from 'zod';

/** Why a run request was refused before anything was written. */
export type GraphInputErrorCode = 'UNKNOWN_GRAPH' | 'INVALID_INPUT';

/**
 * A run request names no registered graph, or its input does not fit the graph's schema.
 * `details` holds zod issues; their paths are relative to the request: `['graph']` for an unknown
 * graph, `['input', ...]` for the input's fields.
 */
export class GraphInputError extends Error {
  override readonly name = 'GraphInputError';

  constructor(
    readonly code: GraphInputErrorCode,
    message: string,
    readonly details: readonly z.core.$ZodIssue[],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A graph cannot be registered: its name is taken or its edges do not fit its nodes. */
export class GraphDefinitionError extends Error {
  override readonly name = 'GraphDefinitionError';

  constructor(
    readonly code: 'DUPLICATE_GRAPH' | 'INVALID_GRAPH',
    message: string,
  ) {
    super(message);
  }
}

/**
 * A node's failure with a stable code, for run.failed. Any other thrown value ends the run with
 * code `NODE_FAILED`.
 */
export class NodeError extends Error {
  override readonly name = 'NodeError';

  constructor(
    readonly code: string,
    message: string,
    readonly details?: unknown,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
