import type { RunEventEnvelope } from '@runstream/events';

// One event object reaches every subscriber of its run: serialise it once, not once per client.
const frames = new WeakMap<RunEventEnvelope, string>();

/** The SSE frame of one event: `id: <seq>`, `event: <type>`, `data: <canonical JSON>`. */
export function formatFrame(event: RunEventEnvelope): string {
  let frame = frames.get(event);
  if (frame === undefined) {
    // JSON.stringify escapes line breaks, so the data is always one line; the type is stripped of
    // them so that no event type can forge a field.
    frame = `id: ${event.seq}\nevent: ${event.type.replace(/[\r\n]/g, '')}\ndata: ${JSON.stringify(event)}\n\n`;
    frames.set(event, frame);
  }
  return frame;
}

/** The frames of a batch, as one chunk: one write per batch instead of one per event. */
export function formatFrames(events: readonly RunEventEnvelope[]): string {
  let chunk = '';
  for (const event of events) chunk += formatFrame(event);
  return chunk;
}

/** The heartbeat comment line. */
export const HEARTBEAT_FRAME = ': heartbeat\n\n';

/**
 * The control frame of a planned close that is not the end of the run (shutdown, deploy): the
 * client reconnects at once with `Last-Event-ID: <lastSeq>`. It has no `id:` line, so an
 * EventSource keeps the last event's id, and a reader that sees the response end after it knows
 * the run did not end there.
 */
export function formatReconnectFrame(lastSeq: number): string {
  return `event: reconnect\ndata: ${JSON.stringify({ lastSeq })}\n\n`;
}
