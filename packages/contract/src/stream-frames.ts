import { z } from 'zod';

/** How a JSON value in an SSE `data:` field refers to the component that describes it. */
const jsonData = (component: string, description: string) =>
  z.string().meta({
    description,
    contentMediaType: 'application/json',
    contentSchema: { $ref: `#/components/schemas/${component}` },
  });

/** One event of the run: `id: <seq>`, `event: <type>`, `data: <the event as JSON>`. */
export const EventFrameSchema = z
  .object({
    id: z
      .string()
      .regex(/^[1-9][0-9]*$/)
      .describe("The event's seq; a reader that reconnects sends the last one as Last-Event-ID"),
    event: z.string().describe("The event's type"),
    data: jsonData('Event', 'The event, in its canonical envelope'),
  })
  .meta({ id: 'EventFrame' });

/** What a reconnect frame's `data` holds. */
export const ReconnectDataSchema = z
  .object({
    lastSeq: z
      .number()
      .int()
      .nonnegative()
      .describe('The last seq this stream sent: reconnect with it as Last-Event-ID'),
  })
  .meta({ id: 'ReconnectData' });

/**
 * A planned close that is not the end of the run (a shutdown, a deploy): no `id:` line, so it
 * does not move a reader's Last-Event-ID; the server ends the response right after it.
 */
export const ReconnectFrameSchema = z
  .object({
    event: z.literal('reconnect'),
    data: jsonData('ReconnectData', '{"lastSeq": n}'),
  })
  .meta({ id: 'ReconnectFrame' });

/**
 * A frame of the SSE stream. Between frames the server sends `: heartbeat` comment lines while no
 * event flows; they are not frames and carry nothing.
 */
export const StreamFrameSchema = z
  .union([EventFrameSchema, ReconnectFrameSchema])
  .meta({ id: 'StreamFrame' });

/** The media type of the stream: what a request must accept to get it. */
export const EVENT_STREAM_MEDIA_TYPE = 'text/event-stream';
