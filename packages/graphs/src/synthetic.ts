import { setTimeout as sleep } from 'node:timers/promises';

import { NodeError, defineGraph, z } from '@runstream/orchestrator';

/** Input of the `synthetic` graph, as the contract states it. */
export const SyntheticInputSchema = z
  .strictObject({
    /** Non-terminal events to emit after the start events. */
    events: z.number().int().min(1).max(100_000),
    /** Pause after each event, in milliseconds. @default 0 */
    delayMs: z.number().int().min(0).max(60_000).optional(),
    /** Size of each event's `payload` string, in bytes. @default 0 (no payload) */
    payloadBytes: z.number().int().min(0).max(65_536).optional(),
    /** End with run.failed right after the failAt-th event (at most `events`). */
    failAt: z.number().int().min(1).max(100_000).optional(),
  })
  // JSON Schema cannot compare two fields: the registered schema carries the rule as the
  // `x-runstream-le` annotation, which the api enforces (400, no run); the worker checks the
  // refinement again on what it runs (ADR 0021).
  .refine((input) => input.failAt === undefined || input.failAt <= input.events, {
    message: 'failAt must be between 1 and events',
    path: ['failAt'],
  })
  .meta({ 'x-runstream-le': [['failAt', 'events']] });

export type SyntheticInput = z.infer<typeof SyntheticInputSchema>;

/**
 * Emits `events` synthetic.tick events, then ends. No node events, so that a run's events are
 * exactly run.queued, run.started, the n ticks, and the terminal event, as the contract counts them.
 */
export const syntheticGraph = defineGraph({
  name: 'synthetic',
  description: 'n generated events, for tests and benchmarks',
  input: SyntheticInputSchema,
  start: 'emit',
  traceNodes: false,
  nodes: {
    emit: async (input: SyntheticInput, { signal, tracer }) => {
      const payload = input.payloadBytes ? 'x'.repeat(input.payloadBytes) : undefined;
      for (let index = 1; index <= input.events; index++) {
        signal.throwIfAborted();
        await tracer.emit({
          type: 'synthetic.tick',
          data: payload === undefined ? { index } : { index, payload },
        });
        if (index === input.failAt) {
          throw new NodeError('SYNTHETIC_FAILURE', `failed on purpose after event ${index}`, {
            failAt: index,
          });
        }
        if (input.delayMs) await sleep(input.delayMs, undefined, { signal });
      }
      return { events: input.events };
    },
  },
});
