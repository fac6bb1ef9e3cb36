import type { RunEventBody } from '@runstream/events';
import type { z } from 'zod';

/** The events a node may emit itself; run and node lifecycle events belong to the executor. */
export type NodeEventBody = RunEventBody<
  'text.delta' | 'tool.call' | 'tool.result' | 'synthetic.tick'
>;

/** A node's way to emit events. Every event it emits is persisted before anyone can see it. */
export interface NodeTracer {
  /**
   * Appends an event after all the node's earlier events. High-rate events are batched: the
   * promise resolves once the event is buffered, and waits for a flush only when the buffer is
   * full (back-pressure). An event is durable by the time the run's next lifecycle event is.
   */
  emit(event: NodeEventBody): Promise<void>;
  /** Shorthand for a `text.delta` of the current node. */
  text(text: string): Promise<void>;
}

/** What a node receives besides its input. */
export interface NodeContext {
  readonly runId: string;
  /** The node's name in its graph. */
  readonly node: string;
  /** Aborted when the run is cancelled, its worker stops, or its lease is lost; stop soon after. */
  readonly signal: AbortSignal;
  readonly tracer: NodeTracer;
}

/**
 * A step of a graph: an async function of its input (the previous node's output, or the run's
 * parsed input for the start node) returning its output.
 */
export type GraphNode<In = unknown, Out = unknown> = {
  // Method syntax makes the parameter bivariant, so a node typed for its own input still fits a
  // graph's node table.
  node(input: In, context: NodeContext): Promise<Out> | Out;
}['node'];

/** Always go from `from` to `to`. */
export interface SequenceEdge {
  from: string;
  to: string;
}

/**
 * Pick the next node from `from`'s output: `choose` returns one of `to`, or undefined to end the
 * run there. Listing the targets lets the registry check the graph before it ever runs.
 */
export interface BranchEdge {
  from: string;
  to: readonly string[];
  choose(output: unknown): string | undefined;
}

export type GraphEdge = SequenceEdge | BranchEdge;

/** A graph: named nodes joined by edges, with a zod schema for its input. */
export interface GraphDefinition<I = unknown> {
  /** The name runs ask for (`POST /v1/runs {"graph": name}`). */
  name: string;
  description?: string;
  /** Parses the run's input; an input it refuses is a 400 and no run is created. */
  input: z.ZodType<I>;
  /** The node that receives the parsed input. */
  start: string;
  nodes: Readonly<Record<string, GraphNode>>;
  /** At most one edge leaves each node; a node with none ends the run, its output the run's. */
  edges?: readonly GraphEdge[];
  /**
   * Whether the executor writes node.started and node.completed around each node.
   * @default true
   */
  traceNodes?: boolean;
  /**
   * Nodes one run may execute before it fails with `MAX_STEPS` (branches may loop).
   * @default 1000
   */
  maxSteps?: number;
}

/** Declares a graph with its input type inferred from its schema. */
export function defineGraph<I>(graph: GraphDefinition<I>): GraphDefinition<I> {
  return graph;
}
