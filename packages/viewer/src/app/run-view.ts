import type { ReceivedRunEvent, RunStatus } from '@runstream/client';

/** One node of the graph as the timeline shows it. */
interface NodeSpan {
  node: string;
  startedAt: number;
  endedAt?: number;
  state: 'running' | 'completed' | 'failed';
}

/** What the run page shows, folded from the run's events in seq order. */
export interface RunView {
  status: RunStatus;
  startedAt?: number;
  endedAt?: number;
  nodes: NodeSpan[];
  /**
   * The streamed text: every `text.delta` concatenated in seq order, a blank line between the
   * text of one node and the next (a plan and an answer read as two paragraphs, not one).
   */
  text: string;
  /** The node of the last text delta, to tell where a new paragraph starts. */
  textNode?: string;
  output?: unknown;
  error?: unknown;
  lastSeq: number;
}

export function emptyRunView(): RunView {
  return { status: 'queued', nodes: [], text: '', lastSeq: 0 };
}

/**
 * Folds one event into the view; events must come in seq order, each once (the sequencer's job).
 * An event of a type this viewer does not know only moves `lastSeq`.
 */
export function applyEvent(view: RunView, event: ReceivedRunEvent): RunView {
  const at = Date.parse(event.at);
  view.lastSeq = event.seq;
  switch (event.type) {
    case 'run.queued':
      view.status = 'queued';
      break;
    case 'run.started':
      view.status = 'running';
      view.startedAt = at;
      break;
    case 'node.started':
      view.nodes.push({ node: event.data.node, startedAt: at, state: 'running' });
      break;
    case 'node.completed': {
      const { node } = event.data;
      const span = [...view.nodes]
        .reverse()
        .find((n) => n.node === node && n.endedAt === undefined);
      if (span) {
        span.endedAt = at;
        span.state = 'completed';
      }
      break;
    }
    case 'text.delta': {
      const { node } = event.data;
      if (view.text !== '' && node !== view.textNode) view.text += '\n\n';
      view.text += event.data.text;
      view.textNode = node;
      break;
    }
    case 'run.completed':
      view.status = 'succeeded';
      view.output = event.data.output;
      break;
    case 'run.failed':
      view.status = 'failed';
      view.error = event.data.error;
      // The node that threw is still open: it failed.
      for (const span of view.nodes) if (span.endedAt === undefined) span.state = 'failed';
      break;
    case 'run.cancelled':
      view.status = 'cancelled';
      view.error = event.data.reason;
      break;
  }
  if (view.status === 'succeeded' || view.status === 'failed' || view.status === 'cancelled') {
    view.endedAt = at;
    for (const span of view.nodes) if (span.endedAt === undefined) span.endedAt = at;
  }
  return view;
}

/** `850 ms`, `1.25 s`, `2 min 5 s`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(2)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}
