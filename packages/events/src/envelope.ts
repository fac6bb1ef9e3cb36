import { z } from 'zod';

/**
 * The canonical envelope of every run event, as stored, published and streamed.
 * `seq` starts at 1 and is gapless and strictly increasing within a run.
 */
export const RunEventEnvelopeSchema = z.object({
  runId: z.string(),
  seq: z.number().int().positive(),
  type: z.string().min(1),
  /** ISO-8601 timestamp of the moment the event was persisted. */
  at: z.iso.datetime({ offset: true }),
  data: z.record(z.string(), z.unknown()),
});

/** A run event in its canonical shape, whatever its type. */
export type RunEventEnvelope = z.infer<typeof RunEventEnvelopeSchema>;
