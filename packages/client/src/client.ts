import {
  type CreateRunRequest,
  type Graph,
  GraphListSchema,
  type ListRunsQuery,
  type Run,
  type RunPage,
  RunPageSchema,
  RunSchema,
} from '@runstream/contract';
import type { ReceivedRunEvent } from '@runstream/events';
import type { z } from 'zod';

import {
  type Backoff,
  DEFAULT_BACKOFF,
  type RetryOptions,
  abortReason,
  backoffDelay,
  sleep,
} from './backoff.js';
import { RunstreamError, errorFromResponse } from './errors.js';
import { type ReconnectOptions, type RunEventsOptions, streamRunEvents } from './run-events.js';
import { type RunResult, waitForRun } from './wait-for-run.js';

export interface RunstreamClientOptions {
  /**
   * Base URL of the api, without `/v1`.
   * @default "http://127.0.0.1:3000"
   */
  baseUrl?: string;
  /** Sent as `Authorization: Bearer <apiKey>` when set (the api's RUNSTREAM_API_KEYS). */
  apiKey?: string;
  /**
   * The fetch to use (a browser's, Node's, or one with a proxy agent).
   * @default globalThis.fetch
   */
  fetch?: typeof globalThis.fetch;
  /** How requests are retried, and how long the event stream waits between reconnects. */
  retry?: RetryOptions;
  /** How `runs.events()` resumes a dropped stream. */
  reconnect?: ReconnectOptions;
}

/** The options every call takes. */
export interface CallOptions {
  /** Aborts the call (and its retries): it then rejects with the signal's reason. */
  signal?: AbortSignal;
}

export interface CreateRunResult {
  run: Run;
  /** False when an idempotency key matched a run an earlier call created (HTTP 200, not 201). */
  created: boolean;
}

/** Options of `runs.stream()`: those of `runs.events()` but the start, which is the run's first event. */
export interface RunStreamOptions extends Omit<RunEventsOptions, 'fromSeq'> {
  /** The same key again (same tenant) streams the run the first call created instead of another. */
  idempotencyKey?: string;
}

/** The runs of the api. */
export interface Runs {
  /** Creates a run; it is queued, with its first event written, when this resolves. */
  create(input: CreateRunRequest, options?: CallOptions): Promise<CreateRunResult>;
  get(runId: string, options?: CallOptions): Promise<Run>;
  /** One page of runs, newest first; pass `nextCursor` back as `cursor` for the next. */
  list(query?: ListRunsQuery, options?: CallOptions): Promise<RunPage>;
  /** Asks for a cancel; the run ends later with `run.cancelled`. RUN_TERMINAL (409) if it has ended. */
  cancel(runId: string, options?: CallOptions): Promise<Run>;
  /**
   * The run's events in seq order, each exactly once, up to and including the terminal event,
   * across dropped connections and server restarts. Narrowing on `type` gives each catalogue
   * event its `data`; an event of a type added after this client was built comes as an
   * `UnknownRunEvent`. To resume in another process, keep the last `seq` and pass `fromSeq: seq + 1`.
   */
  events(runId: string, options?: RunEventsOptions): AsyncGenerator<ReceivedRunEvent, void>;
  /**
   * Creates a run and streams its events from its first (`run.queued`, whose `runId` names the
   * run) to its terminal event: `create` then `events` in one call.
   */
  stream(
    graph: string,
    input?: Record<string, unknown>,
    options?: RunStreamOptions,
  ): AsyncGenerator<ReceivedRunEvent, void>;
  /**
   * Waits until the run ends and resolves with how: its output, its error, or why it was
   * cancelled, with the run as it ended. Rejects only when the waiting itself fails (the run does
   * not exist, the api cannot be reached within the reconnect budget, the signal aborts).
   */
  wait(runId: string, options?: CallOptions): Promise<RunResult>;
}

/** The graphs the workers registered: what runs can be created of. */
export interface Graphs {
  /**
   * The newest registration of each graph name, in name order, with its input JSON Schema (what
   * `runs.create` is checked against) and whether a worker serves it now.
   */
  list(options?: CallOptions): Promise<Graph[]>;
}

export interface RunstreamClient {
  runs: Runs;
  graphs: Graphs;
}

/** A client of the Runstream api; works in Node 20+ and in browsers. */
export function createRunstreamClient(options: RunstreamClientOptions = {}): RunstreamClient {
  const base = (options.baseUrl ?? 'http://127.0.0.1:3000').replace(/\/+$/, '');
  // Bound late so a test or a polyfill that replaces globalThis.fetch after creation is honoured.
  const fetchImpl: typeof globalThis.fetch =
    options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const headers = (): Record<string, string> =>
    options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {};
  const url = (path: string): string => `${base}${path}`;
  const backoff: Backoff = { ...DEFAULT_BACKOFF, ...definedOnly(options.retry) };
  const reconnect: Required<ReconnectOptions> = {
    maxAttempts: options.reconnect?.maxAttempts ?? 30,
    idleTimeoutMs: options.reconnect?.idleTimeoutMs ?? 45_000,
  };

  /** One attempt: the answer's status and parsed body, or the RunstreamError it amounts to. */
  async function send<S extends z.ZodType>(
    method: 'GET' | 'POST',
    path: string,
    schema: S,
    body: unknown,
    signal: AbortSignal | undefined,
  ): Promise<{ status: number; body: z.output<S> }> {
    const requestHeaders: Record<string, string> = { ...headers(), accept: 'application/json' };
    if (body !== undefined) requestHeaders['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetchImpl(url(path), {
        method,
        headers: requestHeaders,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
      });
    } catch (error) {
      if (signal?.aborted) throw abortReason(signal);
      const reason =
        error instanceof Error
          ? ((error.cause as Error | undefined)?.message ?? error.message)
          : String(error);
      throw new RunstreamError(
        'NETWORK_ERROR',
        `cannot reach ${base}: ${reason}`,
        undefined,
        undefined,
        { cause: error },
      );
    }
    if (!response.ok) throw await errorFromResponse(response);
    const json: unknown = await response.json().catch((error: unknown) => {
      throw new RunstreamError(
        'INVALID_RESPONSE',
        `${method} ${path}: body is not JSON`,
        response.status,
        undefined,
        { cause: error },
      );
    });
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      throw new RunstreamError(
        'INVALID_RESPONSE',
        `${method} ${path}: unexpected body`,
        response.status,
        parsed.error.issues,
      );
    }
    return { status: response.status, body: parsed.data };
  }

  /**
   * A request with its retries: a failure a later attempt may not have (no answer, 408, 429, 5xx)
   * is tried again after a backoff, or after the answer's Retry-After. Only requests that are safe
   * to repeat come here: reads, cancels, and creates with an idempotency key.
   */
  async function request<S extends z.ZodType>(
    method: 'GET' | 'POST',
    path: string,
    schema: S,
    init: { body?: unknown; signal?: AbortSignal | undefined } = {},
  ): Promise<{ status: number; body: z.output<S>; attempts: number }> {
    for (let attempt = 1; ; attempt++) {
      try {
        return { ...(await send(method, path, schema, init.body, init.signal)), attempts: attempt };
      } catch (error) {
        if (!(error instanceof RunstreamError) || !error.retryable) throw error;
        if (attempt > backoff.maxRetries) throw error;
        const retryAfterMs = error.retryAfterMs;
        if (retryAfterMs !== undefined && retryAfterMs > backoff.maxRetryAfterMs) throw error;
        await sleep(backoffDelay(attempt, backoff, retryAfterMs), init.signal);
      }
    }
  }

  const runPath = (runId: string): string => `/v1/runs/${encodeURIComponent(runId)}`;

  const runs: Runs = {
    async create(input, opts) {
      // Without a key of the caller's, a random one: a retry after a lost answer then finds the
      // run its first attempt created instead of creating a second.
      const generatedKey =
        input.idempotencyKey === undefined && backoff.maxRetries > 0
          ? globalThis.crypto.randomUUID()
          : undefined;
      const body: CreateRunRequest = { graph: input.graph };
      if (input.input !== undefined) body.input = input.input;
      const idempotencyKey = input.idempotencyKey ?? generatedKey;
      if (idempotencyKey !== undefined) body.idempotencyKey = idempotencyKey;
      const answer = await request('POST', '/v1/runs', RunSchema, { body, signal: opts?.signal });
      // A 200 to a retry under a key of our own making is the run our earlier attempt created.
      const created = answer.status === 201 || (generatedKey !== undefined && answer.attempts > 1);
      return { run: answer.body, created };
    },
    async get(runId, opts) {
      return (await request('GET', runPath(runId), RunSchema, { signal: opts?.signal })).body;
    },
    async list(query = {}, opts) {
      const params = new URLSearchParams();
      for (const [key, value] of Object.entries(query)) {
        if (value !== undefined) params.set(key, String(value));
      }
      const qs = params.size > 0 ? `?${params.toString()}` : '';
      return (await request('GET', `/v1/runs${qs}`, RunPageSchema, { signal: opts?.signal })).body;
    },
    async cancel(runId, opts) {
      return (
        await request('POST', `${runPath(runId)}/cancel`, RunSchema, { signal: opts?.signal })
      ).body;
    },
    events(runId, opts) {
      return streamRunEvents({ fetch: fetchImpl, url, headers, reconnect, backoff }, runId, opts);
    },
    async *stream(graph, input, opts = {}) {
      const { idempotencyKey, ...eventOptions } = opts;
      const { run } = await runs.create({ graph, input, idempotencyKey }, { signal: opts.signal });
      yield* runs.events(run.id, eventOptions);
    },
    wait(runId, opts) {
      return waitForRun(runs, runId, opts);
    },
  };
  const graphs: Graphs = {
    async list(opts) {
      return (await request('GET', '/v1/graphs', GraphListSchema, { signal: opts?.signal })).body
        .graphs;
    },
  };
  return { runs, graphs };
}

/** The options that were given: `{ maxRetries: undefined }` must not override a default. */
function definedOnly<T extends object>(value: T | undefined): Partial<T> {
  return Object.fromEntries(
    Object.entries(value ?? {}).filter(([, v]) => v !== undefined),
  ) as Partial<T>;
}
