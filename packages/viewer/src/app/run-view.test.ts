import { parseReceivedRunEvent } from '@runstream/events';
import { describe, expect, it } from 'vitest';

import { applyEvent, emptyRunView, formatDuration } from './run-view.js';

const ev = (seq: number, type: string, ms: number, data: Record<string, unknown> = {}) =>
  parseReceivedRunEvent({
    runId: 'r',
    seq,
    type,
    at: new Date(Date.UTC(2026, 0, 1) + ms).toISOString(),
    data,
  });

describe('applyEvent', () => {
  it('builds the node timeline, the streamed text and the final output', () => {
    const view = emptyRunView();
    for (const e of [
      ev(1, 'run.queued', 0, { graph: 'demo' }),
      ev(2, 'run.started', 10, { graph: 'demo' }),
      ev(3, 'node.started', 20, { node: 'plan' }),
      ev(4, 'node.completed', 70, { node: 'plan' }),
      ev(5, 'node.started', 80, { node: 'answer' }),
      ev(6, 'text.delta', 90, { node: 'answer', text: 'Hel' }),
      ev(7, 'text.delta', 95, { node: 'answer', text: 'lo' }),
      ev(8, 'node.completed', 180, { node: 'answer' }),
      ev(9, 'run.completed', 190, { output: { answer: 'Hello' } }),
    ])
      applyEvent(view, e);
    expect(view.status).toBe('succeeded');
    expect(view.text).toBe('Hello');
    expect(view.output).toEqual({ answer: 'Hello' });
    expect(view.nodes.map((n) => [n.node, n.endedAt! - n.startedAt, n.state])).toEqual([
      ['plan', 50, 'completed'],
      ['answer', 100, 'completed'],
    ]);
    expect(view.lastSeq).toBe(9);
  });

  it("starts a new paragraph where another node's text begins", () => {
    const view = [
      ev(1, 'text.delta', 10, { node: 'plan', text: 'I will look.' }),
      ev(2, 'text.delta', 20, { node: 'answer', text: 'Run' }),
      ev(3, 'text.delta', 30, { node: 'answer', text: 'stream' }),
    ].reduce(applyEvent, emptyRunView());
    expect(view.text).toBe('I will look.\n\nRunstream');
  });

  it('closes the open node when the run fails', () => {
    const view = emptyRunView();
    applyEvent(view, ev(1, 'node.started', 0, { node: 'slow' }));
    applyEvent(
      view,
      ev(2, 'run.failed', 40, { error: { code: 'WORKER_LOST', message: 'lease expired' } }),
    );
    expect(view.status).toBe('failed');
    expect(view.nodes[0]).toMatchObject({ state: 'failed' });
    expect(view.nodes[0]!.endedAt).toBe(view.nodes[0]!.startedAt + 40);
  });

  it('moves past an event of a type it does not know', () => {
    const view = [
      ev(1, 'run.queued', 0, { graph: 'demo' }),
      ev(2, 'run.paused', 10, { until: 'later' }),
    ].reduce(applyEvent, emptyRunView());
    expect(view).toMatchObject({ status: 'queued', lastSeq: 2 });
  });
});

describe('formatDuration', () => {
  it.each([
    [850, '850 ms'],
    [1250, '1.25 s'],
    [125_000, '2 min 5 s'],
  ])('%d ms reads %s', (ms, text) => expect(formatDuration(ms)).toBe(text));
});
