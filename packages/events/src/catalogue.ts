import { z } from 'zod';

import { RunEventEnvelopeSchema } from './envelope.js';

/**
 * Version of the event catalogue. It grows by one when an event's shape changes in a way an
 * existing consumer could notice (a removed or retyped field, a changed meaning); adding an event
 * type or an optional field does not change it.
 */
export const EVENT_SCHEMA_VERSION = 1;

/** A failure as events and runs carry it: a stable machine `code` and a human `message`. */
export const RunErrorSchema = z.object({
  /** Stable, SCREAMING_SNAKE_CASE: `NODE_FAILED`, `WORKER_LOST`, `INVALID_INPUT`, ... */
  code: z.string().min(1),
  message: z.string(),
  details: z.unknown().optional(),
});
export type RunError = z.infer<typeof RunErrorSchema>;

const node = z.string().min(1);

/**
 * The body (`type` and `data`) of each event type, keyed by type. The full events below add the
 * envelope fields; producers hand bodies to the persistence layer, which assigns `seq` and `at`.
 */
const bodies = {
  /** The run was created and waits for a worker. Every run's first event (seq 1). */
  'run.queued': z.object({ graph: z.string().min(1) }),
  /** A worker claimed the run and began to execute its graph. */
  'run.started': z.object({ graph: z.string().min(1), worker: z.string().optional() }),
  /** A node of the graph began; `node` is its name in the graph. */
  'node.started': z.object({ node }),
  /** A node returned. Its output travels to the next node, not in the event. */
  'node.completed': z.object({ node }),
  /** A piece of streamed text. Concatenating a node's deltas in seq order gives its text. */
  'text.delta': z.object({ node: node.optional(), text: z.string() }),
  /** A node asked a tool to run; `callId` pairs it with its `tool.result`. */
  'tool.call': z.object({
    node: node.optional(),
    callId: z.string().min(1),
    tool: z.string().min(1),
    args: z.unknown(),
  }),
  /** A tool answered the call `callId`, with a `result` or an `error`. */
  'tool.result': z.object({
    node: node.optional(),
    callId: z.string().min(1),
    tool: z.string().min(1),
    result: z.unknown().optional(),
    error: RunErrorSchema.optional(),
  }),
  /** One of the `synthetic` graph's generated events (`index` counts from 1), for tests and benchmarks. */
  'synthetic.tick': z.object({
    index: z.number().int().positive(),
    payload: z.string().optional(),
  }),
  /** Terminal: the graph finished; `output` is its last node's output. */
  'run.completed': z.object({ output: z.unknown() }),
  /**
   * Terminal: the run failed; `node` names the node that threw, when one did. `WORKER_LOST` means
   * its worker died and its lease expired; `WORKER_SHUTDOWN` that its worker was stopped before the
   * run ended; `LIMIT_EXCEEDED` that it went over a per-run limit (`details.limit`, `details.max`).
   */
  'run.failed': z.object({ error: RunErrorSchema, node: node.optional() }),
  /** Terminal: the run was cancelled on request. */
  'run.cancelled': z.object({ reason: z.string().optional() }),
} as const;

type Bodies = typeof bodies;

/** Every event type of the catalogue. */
export type RunEventType = keyof Bodies;

/** The `data` of an event of type `T`. */
export type RunEventData<T extends RunEventType> = z.infer<Bodies[T]>;

/** What a producer writes: an event's `type` and `data`, before it has a seq and a time. */
export type RunEventBody<T extends RunEventType = RunEventType> = {
  [K in T]: { type: K; data: RunEventData<K> };
}[T];

/** A canonical run event of type `T`, as stored, published and streamed. */
export type RunEventOf<T extends RunEventType> = {
  runId: string;
  seq: number;
  type: T;
  at: string;
  data: RunEventData<T>;
};

/** Any canonical run event; narrow it with a `switch` on `type`. */
export type RunEvent = { [K in RunEventType]: RunEventOf<K> }[RunEventType];

/** Every event type, in the order a run meets them. */
export const RUN_EVENT_TYPES = Object.keys(bodies) as RunEventType[];

const envelopeFields = RunEventEnvelopeSchema.pick({ runId: true, seq: true, at: true }).shape;

function eventSchema<T extends RunEventType>(type: T) {
  return z.object({ ...envelopeFields, type: z.literal(type), data: bodies[type] });
}

function bodySchema<T extends RunEventType>(type: T) {
  return z.object({ type: z.literal(type), data: bodies[type] });
}

/** The schema of every canonical event: one discriminated union on `type`. */
export const RunEventSchema = z.discriminatedUnion('type', [
  eventSchema('run.queued'),
  eventSchema('run.started'),
  eventSchema('node.started'),
  eventSchema('node.completed'),
  eventSchema('text.delta'),
  eventSchema('tool.call'),
  eventSchema('tool.result'),
  eventSchema('synthetic.tick'),
  eventSchema('run.completed'),
  eventSchema('run.failed'),
  eventSchema('run.cancelled'),
]);

/** The schema of an event body (`type` and `data`), what producers append. */
export const RunEventBodySchema = z.discriminatedUnion('type', [
  bodySchema('run.queued'),
  bodySchema('run.started'),
  bodySchema('node.started'),
  bodySchema('node.completed'),
  bodySchema('text.delta'),
  bodySchema('tool.call'),
  bodySchema('tool.result'),
  bodySchema('synthetic.tick'),
  bodySchema('run.completed'),
  bodySchema('run.failed'),
  bodySchema('run.cancelled'),
]);

/** The schema of the `data` of each event type. */
export const RUN_EVENT_DATA_SCHEMAS: { readonly [K in RunEventType]: Bodies[K] } = bodies;

/** The first event of every run, written with the run itself. */
export function runQueuedEvent(graph: string): { type: 'run.queued'; data: { graph: string } } {
  return { type: 'run.queued', data: { graph } };
}
