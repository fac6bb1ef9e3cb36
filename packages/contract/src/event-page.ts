import { RunEventEnvelopeSchema } from '@runstream/events';
import { z } from 'zod';

/**
 * A run event in its canonical envelope. `type` is open: a consumer passes types it does not know
 * (see @runstream/events for the catalogue and each type's `data`).
 */
export const EventSchema = RunEventEnvelopeSchema.meta({ id: 'Event' });

/** One page of a run's events as JSON. */
export const EventPageSchema = z
  .object({
    events: z.array(EventSchema),
    nextSeq: z.number().int().positive().describe('The fromSeq of the next page'),
    terminal: z
      .boolean()
      .describe(
        "The page holds the run's terminal event or starts past it: nothing more will come",
      ),
  })
  .meta({ id: 'EventPage' });

export type EventPage = z.infer<typeof EventPageSchema>;
