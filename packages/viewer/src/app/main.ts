import {
  type Graph,
  type ReceivedRunEvent,
  type Run,
  type RunstreamClient,
  RunstreamError,
  createEventSequencer,
  createRunstreamClient,
  isTerminalStatus,
} from '@runstream/client';
import { RUN_EVENT_TYPES } from '@runstream/events';

import { describeFields, exampleInput, faultsOf, parseInputText } from './graph-form.js';
import { type RunView, applyEvent, emptyRunView, formatDuration } from './run-view.js';

// The viewer is served by the api it talks to, so the base URL is the page's own origin (and path
// prefix, if a proxy adds one).
const base = new URL('.', window.location.href).href.replace(/\/$/, '');
// The key lives in this tab's sessionStorage: it survives a reload but not the tab, is not shared
// with other tabs, and is not kept on disk for later sessions as localStorage would be. A script
// running in the page could read it either way; the CSP (no inline script, this origin only) is
// what keeps such scripts out.
const API_KEY_STORAGE = 'runstream.apiKey';
// Earlier versions kept the key in localStorage: do not leave it there.
localStorage.removeItem(API_KEY_STORAGE);
const app = document.querySelector<HTMLElement>('#app')!;
let stopPage: (() => void) | undefined;

function apiKey(): string | undefined {
  return sessionStorage.getItem(API_KEY_STORAGE) ?? undefined;
}

function client(): RunstreamClient {
  return createRunstreamClient({ baseUrl: base, apiKey: apiKey() });
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

/**
 * The form that starts a run of any registered graph: the graphs come from GET /v1/graphs, the
 * input is JSON, and a refused input shows the api's verdict at the field at fault.
 */
function runForm(): { element: HTMLElement; load(signal: AbortSignal): Promise<void> } {
  const select = h('select', { 'data-testid': 'graph', 'aria-label': 'Graph' });
  const liveness = h('span', { class: 'muted', 'data-testid': 'graph-live' });
  const description = h('p', { class: 'muted' });
  const input = h('textarea', {
    'data-testid': 'input',
    'aria-label': 'Input (JSON)',
    rows: '4',
    cols: '60',
    spellcheck: 'false',
  });
  const start = h('button', { type: 'button', 'data-testid': 'start' }, 'Start a run');
  const faults = h('ul', { class: 'error faults', 'data-testid': 'input-error', role: 'alert' });
  faults.hidden = true;
  const fields = h('tbody');
  let graphs: Graph[] = [];

  const selected = (): Graph | undefined => graphs.find((g) => g.name === select.value);
  const showFaults = (lines: { field: string | undefined; text: string }[]): void => {
    faults.replaceChildren(...lines.map((l) => h('li', {}, l.text)));
    faults.hidden = lines.length === 0;
    const atFault = new Set(lines.map((l) => l.field));
    for (const row of fields.querySelectorAll<HTMLTableRowElement>('tr[data-field]'))
      row.classList.toggle('fault', atFault.has(row.dataset.field));
  };
  const choose = (): void => {
    const graph = selected();
    showFaults([]);
    if (!graph) return;
    description.textContent = graph.description ?? '';
    liveness.textContent = !graph.live ? 'no worker serves it now: its runs wait queued' : '';
    input.value = JSON.stringify(exampleInput(graph.inputSchema), null, 2);
    fields.replaceChildren(
      ...describeFields(graph.inputSchema).map((f) =>
        h(
          'tr',
          { 'data-field': f.name },
          h('td', {}, h('code', {}, f.name)),
          h('td', {}, f.type),
          h('td', {}, f.required ? 'required' : 'optional'),
          h('td', { class: 'muted' }, f.detail),
        ),
      ),
    );
  };
  select.onchange = choose;
  start.onclick = async () => {
    const graph = selected();
    if (!graph) return;
    const parsed = parseInputText(input.value);
    if (!parsed.ok) return showFaults([{ field: undefined, text: parsed.fault }]);
    try {
      const { run } = await client().runs.create({ graph: graph.name, input: parsed.input });
      window.location.hash = `#/runs/${encodeURIComponent(run.id)}`;
    } catch (error) {
      const lines =
        error instanceof RunstreamError && error.code === 'INVALID_INPUT'
          ? faultsOf(error.details)
          : [];
      if (lines.length > 0) showFaults(lines);
      else showError(error);
    }
  };
  const element = h(
    'section',
    { class: 'run-form' },
    h('div', { class: 'toolbar' }, h('label', {}, 'Graph ', select), start, liveness),
    description,
    h('label', { class: 'input' }, 'Input (JSON)', input),
    faults,
    h(
      'table',
      { class: 'fields' },
      h('thead', {}, h('tr', {}, ...['Field', 'Type', '', ''].map((t) => h('th', {}, t)))),
      fields,
    ),
  );
  return {
    element,
    async load(signal) {
      graphs = await client().graphs.list({ signal });
      const current = select.value;
      select.replaceChildren(...graphs.map((g) => h('option', { value: g.name }, g.name)));
      if (graphs.length === 0) {
        description.textContent = 'No graph is registered yet: start a run-worker.';
        start.disabled = true;
        return;
      }
      start.disabled = false;
      if (graphs.some((g) => g.name === current)) select.value = current;
      choose();
    },
  };
}

function listPage(): () => void {
  const rows = h('tbody');
  const form = runForm();
  const keyInput = h('input', {
    type: 'password',
    placeholder: 'API key (when the api requires one)',
    size: '30',
  });
  keyInput.value = apiKey() ?? '';
  keyInput.onchange = () => {
    if (keyInput.value) sessionStorage.setItem(API_KEY_STORAGE, keyInput.value);
    else sessionStorage.removeItem(API_KEY_STORAGE);
  };
  app.replaceChildren(
    h('div', { class: 'toolbar' }, keyInput),
    form.element,
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
  const loadGraphs = (): void => {
    form.load(controller.signal).catch((error: unknown) => {
      if (!controller.signal.aborted) showError(error);
    });
  };
  // A key entered after the page loaded may be what the list needed.
  keyInput.addEventListener('change', loadGraphs);
  loadGraphs();
  let timer: ReturnType<typeof setTimeout> | undefined;
  // Polling keeps every run's status live without a stream per row; 2 s is plenty for a list.
  const refresh = async (): Promise<void> => {
    try {
      const page = await client().runs.list({ limit: 50 }, { signal: controller.signal });
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
      .runs.cancel(runId)
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

  const render = (event: ReceivedRunEvent): void => {
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
        h('b', {}, String(event.type)),
        ' ',
        detail,
      ),
    );
    if (event.type === 'text.delta') text.textContent = view.text;
    if (String(event.type).startsWith('node.') || isTerminalStatus(view.status)) {
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

  return apiKey()
    ? streamWithClient(runId, render, connection)
    : streamWithEventSource(runId, render, connection);
}

/** Says on the page that the run does not exist (or is another tenant's), instead of retrying. */
function showNotFound(runId: string, connection: HTMLElement): void {
  connection.textContent = 'not found';
  showError(`Run ${runId} not found.`);
}

/**
 * EventSource reconnects by itself after a dropped connection and sends Last-Event-ID; the
 * sequencer drops what a reconnect repeats. A hole (seq beyond the next due) or a planned close
 * (`event: reconnect`) opens a new stream from the next seq due at once. An answer EventSource will
 * not retry (a 404, a 204 past the end, a 401, a 429 or 503) closes it for good: the run itself
 * then says what to do, so an unknown run reads "not found" and an ended one stops, instead of
 * asking again every second for ever.
 */
function streamWithEventSource(
  runId: string,
  render: (e: ReceivedRunEvent) => void,
  connection: HTMLElement,
): () => void {
  const sequencer = createEventSequencer({ runId });
  let source: EventSource | undefined;
  let retry: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  let failures = 0;
  const controller = new AbortController();
  const open = (): void => {
    if (stopped) return;
    const url = `${base}/v1/runs/${encodeURIComponent(runId)}/events?fromSeq=${sequencer.lastSeq + 1}`;
    const es = new EventSource(url);
    source = es;
    const onFrame = (message: MessageEvent<string>): void => {
      try {
        const verdict = sequencer.accept(message.data);
        if (verdict.kind === 'event') {
          failures = 0;
          render(verdict.event);
        }
        if (verdict.kind === 'gap') reopen(0);
      } catch (error) {
        showError(error);
      }
      if (sequencer.done) es.close();
    };
    for (const type of [...RUN_EVENT_TYPES, 'message']) es.addEventListener(type, onFrame);
    es.addEventListener('reconnect', () => reopen(0));
    es.onopen = () => {
      connection.textContent = 'live';
      clearError();
    };
    es.onerror = () => {
      if (sequencer.done || stopped) return;
      connection.textContent = `reconnecting after seq ${sequencer.lastSeq}…`;
      if (es.readyState === EventSource.CLOSED) void refused();
    };
  };
  const reopen = (delayMs: number): void => {
    source?.close();
    clearTimeout(retry);
    retry = setTimeout(open, delayMs);
  };
  // EventSource gave up: it tells no status, so ask the api about the run.
  const refused = async (): Promise<void> => {
    failures++;
    try {
      const run = await client().runs.get(runId, { signal: controller.signal });
      if (isTerminalStatus(run.status) && run.lastSeq <= sequencer.lastSeq) {
        connection.textContent = `ended: ${run.status}`;
        return;
      }
    } catch (error) {
      if (stopped) return;
      if (error instanceof RunstreamError && error.code === 'RUN_NOT_FOUND') {
        showNotFound(runId, connection);
        return;
      }
      if (error instanceof RunstreamError && !error.retryable) {
        showError(error);
        return;
      }
    }
    reopen(Math.min(10_000, 500 * 2 ** failures));
  };
  open();
  return () => {
    stopped = true;
    controller.abort();
    clearTimeout(retry);
    source?.close();
  };
}

/** With an API key the stream needs an Authorization header, which EventSource cannot send. */
function streamWithClient(
  runId: string,
  render: (e: ReceivedRunEvent) => void,
  connection: HTMLElement,
): () => void {
  const controller = new AbortController();
  void (async () => {
    connection.textContent = 'live';
    try {
      for await (const event of client().runs.events(runId, {
        signal: controller.signal,
        onReconnect: ({ lastSeq }) =>
          (connection.textContent = `reconnecting after seq ${lastSeq}…`),
      })) {
        connection.textContent = 'live';
        render(event);
      }
      // Ended without a terminal event here: the api answered 204, the run ended before this point.
      if (connection.textContent === 'live') connection.textContent = 'ended';
    } catch (error) {
      if (controller.signal.aborted) return;
      if (error instanceof RunstreamError && error.code === 'RUN_NOT_FOUND')
        showNotFound(runId, connection);
      else showError(error);
    }
  })();
  return () => controller.abort();
}

window.addEventListener('hashchange', route);
route();
