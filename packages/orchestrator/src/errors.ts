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

/**
 * A graph cannot be registered: its name is taken, its edges do not fit its nodes, or its input
 * has no JSON Schema.
 */
export class GraphDefinitionError extends Error {
  override readonly name = 'GraphDefinitionError';

  constructor(
    readonly code: 'DUPLICATE_GRAPH' | 'INVALID_GRAPH',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Why a graph module (RUNSTREAM_GRAPHS) could not be loaded. */
export type GraphModuleErrorCode = 'MODULE_NOT_FOUND' | 'MODULE_FAILED' | 'NO_GRAPH';

/**
 * A graph module could not be found or imported, or its default export is not a graph or an
 * array of graphs. The message is one line that names the module.
 */
export class GraphModuleError extends Error {
  override readonly name = 'GraphModuleError';

  constructor(
    readonly code: GraphModuleErrorCode,
    /** The module as it was given (a path or a package name). */
    readonly specifier: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
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

/** The per-run limit a run went over. */
export type RunLimit = 'events' | 'bytes' | 'durationMs';

/**
 * A run went over one of its limits (events its nodes emitted, bytes of their data, wall time). It
 * ends `run.failed` with code `LIMIT_EXCEEDED`, whose details name the limit and its value.
 */
export class RunLimitError extends Error {
  override readonly name = 'RunLimitError';
  readonly code = 'LIMIT_EXCEEDED';

  constructor(
    readonly limit: RunLimit,
    readonly max: number,
  ) {
    super(LIMIT_MESSAGES[limit](max));
  }

  /** The error as run.failed carries it. */
  toRunError(): {
    code: 'LIMIT_EXCEEDED';
    message: string;
    details: { limit: RunLimit; max: number };
  } {
    return {
      code: this.code,
      message: this.message,
      details: { limit: this.limit, max: this.max },
    };
  }
}

const LIMIT_MESSAGES: Record<RunLimit, (max: number) => string> = {
  events: (max) => `the run emitted more than ${max} events (RUNSTREAM_RUN_MAX_EVENTS)`,
  bytes: (max) => `the run's event data exceeded ${max} bytes (RUNSTREAM_RUN_MAX_BYTES)`,
  durationMs: (max) => `the run ran longer than ${max} ms (RUNSTREAM_RUN_MAX_DURATION_MS)`,
};
