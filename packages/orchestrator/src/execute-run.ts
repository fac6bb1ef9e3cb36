import { inspect } from 'node:util';

import type { RunError } from '@runstream/events';
import { LeaseLostError, RunTerminalError } from '@runstream/persistence';

import { NodeError, RunLimitError } from './errors.js';
import type { GraphDefinition, GraphEdge, NodeContext, NodeTracer } from './graph.js';
import { RunAbort } from './run-abort.js';
import type { Tracer } from './tracer.js';

export interface ExecuteRunOptions {
  runId: string;
  graph: GraphDefinition;
  /** The run's stored input; parsed again with the graph's schema. */
  input: unknown;
  tracer: Tracer;
  /** Aborted to cancel the run; its reason decides how the run ends (see RunAbort). */
  signal: AbortSignal;
  /** Written into run.started, to tell which worker executed the run. */
  worker?: string;
}

/**
 * How an execution ended. `abandoned`: this execution wrote no terminal event, because another
 * process ended the run, the lease was lost, the database refused the write, or the worker gave
 * up waiting for it; unless another writer ended the run, its lease expires and another worker
 * ends it.
 */
export type RunOutcome =
  | { status: 'succeeded'; output: unknown }
  | { status: 'failed'; error: RunError }
  | { status: 'cancelled'; reason: string }
  | { status: 'abandoned'; cause: unknown };

const DEFAULT_MAX_STEPS = 1000;

/**
 * Executes a claimed run to its end: run.started, each node (with node.started/node.completed
 * unless the graph opts out), then exactly one terminal event. Never throws: every failure
 * becomes an outcome.
 */
export async function executeRun(options: ExecuteRunOptions): Promise<RunOutcome> {
  const { runId, graph, tracer, signal } = options;
  let current: string | undefined;
  try {
    // The worker is the authority on its graph's input: the api checked it against the registered
    // JSON Schema, which carries no refinements and may be another version's (ADR 0021).
    const parsed = graph.input.safeParse(options.input ?? {});
    if (!parsed.success) {
      const issues = parsed.error.issues.map((issue) => ({
        ...issue,
        path: ['input', ...issue.path],
      }));
      const first = issues[0];
      throw new NodeError(
        'INVALID_INPUT',
        first
          ? `${first.path.join('.')}: ${first.message}`
          : `the input does not fit graph "${graph.name}"`,
        issues,
      );
    }
    await tracer.append({
      type: 'run.started',
      data:
        options.worker === undefined
          ? { graph: graph.name }
          : { graph: graph.name, worker: options.worker },
    });
    const nodeTracer = (node: string): NodeTracer => ({
      emit: (event) => tracer.emit(event),
      text: (text) => tracer.emit({ type: 'text.delta', data: { node, text } }),
    });
    const trace = graph.traceNodes ?? true;
    const maxSteps = graph.maxSteps ?? DEFAULT_MAX_STEPS;
    let value: unknown = parsed.data;
    let steps = 0;
    current = graph.start;
    while (current !== undefined) {
      signal.throwIfAborted();
      if (++steps > maxSteps)
        throw new NodeError('MAX_STEPS', `graph "${graph.name}" ran more than ${maxSteps} nodes`);
      const fn = graph.nodes[current];
      if (!fn)
        throw new NodeError('INVALID_GRAPH', `graph "${graph.name}" has no node "${current}"`);
      if (trace) await tracer.append({ type: 'node.started', data: { node: current } });
      const context: NodeContext = { runId, node: current, signal, tracer: nodeTracer(current) };
      value = await fn(value, context);
      if (trace) await tracer.append({ type: 'node.completed', data: { node: current } });
      current = nextNode(graph, current, value);
    }
    // A cancel that arrives while the last node returns still wins: the request was accepted.
    signal.throwIfAborted();
    const output = value ?? null;
    await tracer.end({ type: 'run.completed', data: { output } });
    return { status: 'succeeded', output };
  } catch (thrown) {
    return finish(options, thrown, current);
  }
}

async function finish(
  options: ExecuteRunOptions,
  thrown: unknown,
  node: string | undefined,
): Promise<RunOutcome> {
  const { tracer, signal } = options;
  if (
    tracer.failure !== undefined ||
    thrown instanceof RunTerminalError ||
    thrown instanceof LeaseLostError
  ) {
    await tracer.discard();
    return { status: 'abandoned', cause: tracer.failure ?? thrown };
  }
  try {
    const reason: unknown = signal.aborted ? signal.reason : undefined;
    if (reason instanceof RunAbort && reason.code === 'LEASE_LOST') {
      await tracer.discard();
      return { status: 'abandoned', cause: reason };
    }
    if (reason instanceof RunAbort && reason.code === 'SHUTDOWN') {
      // A deploy is not a user's cancel (cancel is an explicit request): the run failed because
      // its worker went away, and says so at once rather than 30 s later through the reaper.
      const error: RunError = { code: 'WORKER_SHUTDOWN', message: reason.message };
      await tracer.end({ type: 'run.failed', data: { error } });
      return { status: 'failed', error };
    }
    const limit =
      reason instanceof RunLimitError
        ? reason
        : thrown instanceof RunLimitError
          ? thrown
          : undefined;
    if (limit) {
      const error = limit.toRunError();
      await tracer.end({ type: 'run.failed', data: { error } });
      return { status: 'failed', error };
    }
    if (signal.aborted) {
      const text = reason instanceof Error ? reason.message : 'cancelled';
      await tracer.end({ type: 'run.cancelled', data: { reason: text } });
      return { status: 'cancelled', reason: text };
    }
    const error = toRunError(thrown);
    await tracer.end({
      type: 'run.failed',
      data: node === undefined ? { error } : { error, node },
    });
    return { status: 'failed', error };
  } catch (writeError) {
    await tracer.discard();
    return { status: 'abandoned', cause: writeError };
  }
}

function nextNode(graph: GraphDefinition, from: string, output: unknown): string | undefined {
  const edge: GraphEdge | undefined = graph.edges?.find((e) => e.from === from);
  if (!edge) return undefined;
  if (!('choose' in edge)) return edge.to;
  const to = edge.choose(output);
  if (to !== undefined && !edge.to.includes(to)) {
    throw new NodeError(
      'INVALID_GRAPH',
      `branch from "${from}" chose "${to}", which is not one of its targets`,
    );
  }
  return to;
}

/** The code and message a failure is reported with; whatever was thrown, Error or not. */
export function toRunError(thrown: unknown): RunError {
  if (thrown instanceof NodeError) {
    return thrown.details === undefined
      ? { code: thrown.code, message: thrown.message }
      : { code: thrown.code, message: thrown.message, details: toJson(thrown.details) };
  }
  if (thrown instanceof Error)
    return { code: 'NODE_FAILED', message: thrown.message || thrown.name };
  return {
    code: 'NODE_FAILED',
    message: `a node threw a non-Error value: ${inspect(thrown, { depth: 2, breakLength: Infinity })}`,
  };
}

/** Details go into a jsonb column: keep only what JSON can carry. */
function toJson(value: unknown): unknown {
  try {
    return JSON.parse(JSON.stringify(value)) as unknown;
  } catch {
    return inspect(value, { depth: 2 });
  }
}
