import type { RunEventEnvelope } from '@runstream/events';
import type { z } from 'zod';

import { RunstreamError, errorFromResponse } from './errors.js';
import { type Graph, GraphListSchema } from './graph.js';
import { type Run, type RunPage, RunPageSchema, RunSchema, type RunStatus } from './run.js';
import {
  type ReconnectOptions,
  type RunEventsOptions,
  abortReason,
  streamRunEvents,
} from './run-events.js';

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
  /** How `events()` resumes a dropped stream. */
  reconnect?: ReconnectOptions;
}

export interface CreateRunInput {
  /** A graph a run-worker registered: `demo`, `synthetic`, ... (see `graphs()`). */
  graph: string;
  input?: Record<string, unknown>;
  /** The same key again (same tenant) returns the existing run instead of creating one. */
  idempotencyKey?: string;
}

export interface ListRunsQuery {
  status?: RunStatus;
  graph?: string;
  /**
   * Runs per page, 1..200.
   * @default 50
   */
  limit?: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
}

export interface CreateRunResult {
  run: Run;
  /** False when an idempotency key matched an existing run (HTTP 200 instead of 201). */
  created: boolean;
}

export interface RunstreamClient {
  create(input: CreateRunInput, options?: { signal?: AbortSignal }): Promise<CreateRunResult>;
  get(runId: string, options?: { signal?: AbortSignal }): Promise<Run>;
  list(query?: ListRunsQuery, options?: { signal?: AbortSignal }): Promise<RunPage>;
  /** Asks for a cancel; the run ends later with `run.cancelled`. RUN_TERMINAL (409) if it has ended. */
  cancel(runId: string, options?: { signal?: AbortSignal }): Promise<Run>;
  /**
   * The graphs runs can be created of: the newest registration of each, with its input JSON Schema.
   */
  graphs(options?: { signal?: AbortSignal }): Promise<Graph[]>;
  /** The run's events in seq order, each exactly once, up to and including the terminal event. */
  events(
    runId: string,
    options?: RunEventsOptions,
  ): AsyncGenerator<RunEventEnvelope, void, undefined>;
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
  const reconnect = {
    initialDelayMs: options.reconnect?.initialDelayMs ?? 250,
    maxDelayMs: options.reconnect?.maxDelayMs ?? 5000,
    maxAttempts: options.reconnect?.maxAttempts ?? 30,
    idleTimeoutMs: options.reconnect?.idleTimeoutMs ?? 45_000,
  };

  async function request<S extends z.ZodType>(
    method: 'GET' | 'POST',
    path: string,
    schema: S,
    init: { body?: unknown; signal?: AbortSignal | undefined } = {},
  ): Promise<{ status: number; body: z.output<S> }> {
    const requestHeaders: Record<string, string> = { ...headers(), accept: 'application/json' };
    if (init.body !== undefined) requestHeaders['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetchImpl(url(path), {
        method,
        headers: requestHeaders,
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
        signal: init.signal,
      });
    } catch (error) {
      if (init.signal?.aborted) throw abortReason(init.signal);
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
        {
          cause: error,
        },
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

  const runPath = (runId: string): string => `/v1/runs/${encodeURIComponent(runId)}`;

  return {
    async create(input, opts) {
      const body: Record<string, unknown> = { graph: input.graph };
      if (input.input !== undefined) body.input = input.input;
      if (input.idempotencyKey !== undefined) body.idempotencyKey = input.idempotencyKey;
      const { status, body: run } = await request('POST', '/v1/runs', RunSchema, {
        body,
        signal: opts?.signal,
      });
      return { run, created: status === 201 };
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
    async graphs(opts) {
      return (await request('GET', '/v1/graphs', GraphListSchema, { signal: opts?.signal })).body
        .graphs;
    },
    events(runId, opts) {
      return streamRunEvents({ fetch: fetchImpl, url, headers, reconnect }, runId, opts);
    },
  };
}
