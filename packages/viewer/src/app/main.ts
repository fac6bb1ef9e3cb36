import {
  type Run,
  type RunEventEnvelope,
  type RunstreamClient,
  RunstreamError,
  createEventSequencer,
  createRunstreamClient,
  isTerminalStatus,
} from '@runstream/client';
import { RUN_EVENT_TYPES } from '@runstream/events';

import { type RunView, applyEvent, emptyRunView, formatDuration } from './run-view.js';

// The viewer is served by the api it talks to, so the base URL is the page's own origin (and path
// prefix, if a proxy adds one).
const base = new URL('.', window.location.href).href.replace(/\/$/, '');
const API_KEY_STORAGE = 'runstream.apiKey';
const app = document.querySelector<HTMLElement>('#app')!;
let stopPage: (() => void) | undefined;

function client(): RunstreamClient {
  return createRunstreamClient({
    baseUrl: base,
    apiKey: localStorage.getItem(API_KEY_STORAGE) ?? undefined,
  });
}

function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  el.append(...children);
  return el;
}

function showError(error: unknown): void {
  const message =
    error instanceof RunstreamError
      ? `${error.message} [${error.code}]`
      : error instanceof Error
        ? error.message
        : String(error);
  const banner = document.querySelector<HTMLElement>('#error')!;
  banner.textContent = message;
  banner.hidden = false;
}

function clearError(): void {
  document.querySelector<HTMLElement>('#error')!.hidden = true;
}

function route(): void {
  stopPage?.();
  stopPage = undefined;
  clearError();
  const match = /^#\/runs\/([^/]+)$/.exec(window.location.hash);
  stopPage = match ? runPage(decodeURIComponent(match[1]!)) : listPage();
}

async function startRun(graph: 'demo' | 'synthetic'): Promise<void> {
  try {
    const input = graph === 'synthetic' ? { events: 200, delayMs: 20 } : {};
    const { run } = await client().create({ graph, input });
    window.location.hash = `#/runs/${encodeURIComponent(run.id)}`;
  } catch (error) {
    showError(error);
  }
}

function listPage(): () => void {
  const rows = h('tbody');
  const demo = h('button', { type: 'button', 'data-testid': 'start-demo' }, 'Start a demo run');
  const synthetic = h(
    'button',
    { type: 'button', 'data-testid': 'start-synthetic' },
    'Start a synthetic run',
  );
  demo.onclick = () => void startRun('demo');
  synthetic.onclick = () => void startRun('synthetic');
  const keyInput = h('input', {
    type: 'password',
    placeholder: 'API key (when the api requires one)',
    size: '30',
  });
  keyInput.value = localStorage.getItem(API_KEY_STORAGE) ?? '';
  keyInput.onchange = () => {
    if (keyInput.value) localStorage.setItem(API_KEY_STORAGE, keyInput.value);
    else localStorage.removeItem(API_KEY_STORAGE);
  };
  app.replaceChildren(
    h('div', { class: 'toolbar' }, demo, synthetic, keyInput),
    h(
      'table',
      { class: 'runs' },
      h(
        'thead',
        {},
        h('tr', {}, ...['Run', 'Graph', 'Status', 'Events', 'Created'].map((t) => h('th', {}, t))),
      ),
      rows,
    ),
  );
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  // Polling keeps every run's status live without a stream per row; 2 s is plenty for a list.
  const refresh = async (): Promise<void> => {
    try {
      const page = await client().list({ limit: 50 }, { signal: controller.signal });
      rows.replaceChildren(...page.runs.map(runRow));
      if (page.runs.length === 0)
        rows.append(h('tr', {}, h('td', { colspan: '5', class: 'muted' }, 'No runs yet.')));
      clearError();
    } catch (error) {
      if (!controller.signal.aborted) showError(error);
    }
    if (!controller.signal.aborted) timer = setTimeout(() => void refresh(), 2000);
  };
  void refresh();
  return () => {
    controller.abort();
    clearTimeout(timer);
  };
}

function runRow(run: Run): HTMLTableRowElement {
  return h(
    'tr',
    {},
    h('td', {}, h('a', { href: `#/runs/${encodeURIComponent(run.id)}` }, run.id)),
    h('td', {}, run.graph),
    h('td', {}, statusBadge(run.status)),
    h('td', { class: 'num' }, String(run.lastSeq)),
    h('td', {}, new Date(run.createdAt).toLocaleString()),
  );
}

function statusBadge(status: string): HTMLElement {
  return h('span', { class: `status status-${status}` }, status);
}

function runPage(runId: string): () => void {
  let view: RunView = emptyRunView();
  const status = h('span', { 'data-testid': 'status' });
  const connection = h('span', { class: 'muted', 'data-testid': 'connection' }, 'connecting…');
  const cancel = h('button', { type: 'button' }, 'Cancel run');
  const timeline = h('ol', { class: 'timeline' });
  const text = h('pre', { class: 'text', 'data-testid': 'text' });
  const result = h('pre', { class: 'result', 'data-testid': 'result' });
  const log = h('ol', { class: 'events', 'data-testid': 'events' });
  const counter = h('span', { class: 'muted' });
  cancel.onclick = () => {
    client()
      .cancel(runId)
      .catch((error: unknown) => showError(error));
  };
  app.replaceChildren(
    h('p', {}, h('a', { href: '#/' }, '← all runs')),
    h('h2', {}, 'Run ', h('code', {}, runId), ' ', status, ' ', cancel),
    h('p', {}, connection),
    h('section', {}, h('h3', {}, 'Timeline'), timeline),
    h('section', {}, h('h3', {}, 'Answer'), text),
    h('section', {}, h('h3', {}, 'Result'), result),
    h('section', {}, h('h3', {}, 'Events ', counter), log),
  );

  const render = (event: RunEventEnvelope): void => {
    view = applyEvent(view, event);
    status.replaceChildren(statusBadge(view.status));
    cancel.hidden = isTerminalStatus(view.status);
    counter.textContent = `(${view.lastSeq})`;
    const detail = Object.keys(event.data).length > 0 ? JSON.stringify(event.data) : '';
    log.append(
      h(
        'li',
        { 'data-seq': String(event.seq) },
        h('span', { class: 'seq' }, String(event.seq)),
        ' ',
        h('b', {}, event.type),
        ' ',
        detail,
      ),
    );
    if (event.type === 'text.delta') text.textContent = view.text;
    if (event.type.startsWith('node.') || isTerminalStatus(view.status)) {
      timeline.replaceChildren(
        ...view.nodes.map((n) =>
          h(
            'li',
            { class: `node node-${n.state}` },
            h('b', {}, n.node),
            ' ',
            n.endedAt === undefined ? 'running…' : formatDuration(n.endedAt - n.startedAt),
          ),
        ),
      );
    }
    if (isTerminalStatus(view.status)) {
      const total =
        view.startedAt !== undefined && view.endedAt !== undefined
          ? ` in ${formatDuration(view.endedAt - view.startedAt)}`
          : '';
      connection.textContent = `ended: ${view.status}${total}`;
      result.textContent = JSON.stringify(
        view.status === 'succeeded' ? { output: view.output } : { error: view.error },
        null,
        2,
      );
    }
  };

  const apiKey = localStorage.getItem(API_KEY_STORAGE);
  return apiKey
    ? streamWithClient(runId, render, connection)
    : streamWithEventSource(runId, render, connection);
}

/**
 * EventSource reconnects by itself and sends Last-Event-ID; the sequencer drops what a reconnect
 * repeats. A hole (seq beyond the next due) or a refused reconnect (EventSource then gives up) opens
 * a new stream from the next seq due, so no event is ever skipped.
 */
function streamWithEventSource(
  runId: string,
  render: (e: RunEventEnvelope) => void,
  connection: HTMLElement,
): () => void {
  const sequencer = createEventSequencer({ runId });
  let source: EventSource | undefined;
  let retry: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const open = (): void => {
    const url = `${base}/v1/runs/${encodeURIComponent(runId)}/events?fromSeq=${sequencer.lastSeq + 1}`;
    const es = new EventSource(url);
    source = es;
    const onFrame = (message: MessageEvent<string>): void => {
      try {
        const verdict = sequencer.accept(message.data);
        if (verdict.kind === 'event') render(verdict.event);
        if (verdict.kind === 'gap') reopen(0);
      } catch (error) {
        showError(error);
      }
      if (sequencer.done) es.close();
    };
    for (const type of [...RUN_EVENT_TYPES, 'message']) es.addEventListener(type, onFrame);
    es.onopen = () => {
      connection.textContent = 'live';
      clearError();
    };
    es.onerror = () => {
      if (sequencer.done || stopped) return;
      connection.textContent = `reconnecting after seq ${sequencer.lastSeq}…`;
      if (es.readyState === EventSource.CLOSED) reopen(1000);
    };
  };
  const reopen = (delayMs: number): void => {
    source?.close();
    clearTimeout(retry);
    retry = setTimeout(open, delayMs);
  };
  open();
  return () => {
    stopped = true;
    clearTimeout(retry);
    source?.close();
  };
}

/** With an API key the stream needs an Authorization header, which EventSource cannot send. */
function streamWithClient(
  runId: string,
  render: (e: RunEventEnvelope) => void,
  connection: HTMLElement,
): () => void {
  const controller = new AbortController();
  void (async () => {
    connection.textContent = 'live';
    try {
      for await (const event of client().events(runId, {
        signal: controller.signal,
        onReconnect: ({ lastSeq }) =>
          (connection.textContent = `reconnecting after seq ${lastSeq}…`),
      })) {
        connection.textContent = 'live';
        render(event);
      }
    } catch (error) {
      if (!controller.signal.aborted) showError(error);
    }
  })();
  return () => controller.abort();
}

window.addEventListener('hashchange', route);
route();
