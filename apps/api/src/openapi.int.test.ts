import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

import { API_ERRORS, API_ERROR_CODES, type ApiErrorCode } from '@runstream/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type StreamFixture, type TestApi, openFixture, startTestApi } from './testing/harness.js';

const exec = promisify(execFile);
const redocly = join(
  dirname(createRequire(import.meta.url).resolve('@redocly/cli/package.json')),
  'bin',
  'cli.js',
);

interface Operation {
  operationId?: string;
  security?: unknown[];
  parameters?: { in: string; name: string }[];
  responses: Record<
    string,
    { description: string; content?: Record<string, { schema?: unknown; itemSchema?: unknown }> }
  >;
}
interface Document {
  openapi: string;
  info: { license?: { name: string; identifier?: string } };
  servers?: { url: string }[];
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Record<string, unknown>> };
}

let fx: StreamFixture;
let api: TestApi;
let document: Document;
const dir = mkdtempSync(join(tmpdir(), 'runstream-openapi-'));

beforeAll(async () => {
  fx = await openFixture();
  api = await startTestApi(fx.testDb);
  // The document as a client reads it: over HTTP from a listening api.
  document = (await (await fetch(`${api.url}/docs/openapi.json`)).json()) as Document;
});
afterAll(async () => {
  await api.close();
  await fx.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Redocly's verdict on a document under its `recommended` rules. */
async function lint(doc: unknown): Promise<{
  totals: { errors: number; warnings: number };
  problems: { ruleId: string; severity: string; message: string }[];
}> {
  const file = join(dir, `openapi-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(doc));
  const run = await exec(
    process.execPath,
    [redocly, 'lint', file, '--extends', 'recommended', '--format', 'json'],
    { env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' } },
  ).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }));
  return JSON.parse(run.stdout) as Awaited<ReturnType<typeof lint>>;
}

const operations = (): [string, string, Operation][] =>
  Object.entries(document.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, op]): [string, string, Operation] => [path, method, op]),
  );

describe('the OpenAPI document', () => {
  it("passes Redocly's recommended rules with no error and no warning", async () => {
    const result = await lint(document);
    expect(result.problems.map((p) => `${p.severity} ${p.ruleId}: ${p.message}`)).toEqual([]);
    expect(result.totals).toMatchObject({ errors: 0, warnings: 0 });
  });

  it('is checked for real: the same document without servers fails the lint', async () => {
    const { servers: _servers, ...withoutServers } = document;
    const result = await lint(withoutServers);
    expect(result.totals.errors).toBeGreaterThan(0);
    expect(result.problems.map((p) => p.ruleId)).toContain('no-empty-servers');
  });

  it('names a server, a license, and an operationId for each operation', () => {
    expect(document.openapi).toBe('3.2.0');
    expect(document.servers).toEqual([expect.objectContaining({ url: '/' })]);
    expect(document.info.license).toEqual({ name: 'Apache-2.0', identifier: 'Apache-2.0' });
    const ids = operations().map(([, , op]) => op.operationId);
    expect(ids).toEqual([
      'getLiveness',
      'getReadiness',
      'getMetrics',
      'createRun',
      'listRuns',
      'getRun',
      'cancelRun',
      'getRunEvents',
      'listGraphs',
    ]);
  });

  it('lists every status each route can answer, each error status with its codes', () => {
    const statuses = (path: string, method: string) =>
      Object.keys(document.paths[path]![method]!.responses).sort();
    // Every route: a malformed request (400), a head or body too slow (408) or too large (431), a
    // failure (500), a shutdown (503); every /v1 route also: a bad key (401), a rate limit (429).
    const v1 = ['400', '401', '408', '429', '431', '500', '503'];
    expect(statuses('/v1/runs', 'post')).toEqual([...v1, '200', '201', '404', '413', '415'].sort());
    expect(statuses('/v1/runs', 'get')).toEqual([...v1, '200'].sort());
    expect(statuses('/v1/runs/{runId}', 'get')).toEqual([...v1, '200', '404'].sort());
    expect(statuses('/v1/runs/{runId}/cancel', 'post')).toEqual(
      [...v1, '202', '404', '409', '413', '415'].sort(),
    );
    expect(statuses('/v1/runs/{runId}/events', 'get')).toEqual([...v1, '200', '204', '404'].sort());
    expect(statuses('/v1/graphs', 'get')).toEqual([...v1, '200'].sort());
    expect(statuses('/healthz', 'get')).toEqual(['200', '400', '408', '431', '500', '503']);

    const create = document.paths['/v1/runs']!.post!.responses;
    for (const code of [
      'INVALID_JSON',
      'IDEMPOTENCY_KEY_CONFLICT',
      'UNKNOWN_GRAPH',
      'INVALID_INPUT',
    ])
      expect(create['400']!.description).toContain(code);
    expect(create['429']!.description).toMatch(/RATE_LIMITED.*QUOTA_EXCEEDED/);
    const events = document.paths['/v1/runs/{runId}/events']!.get!.responses;
    expect(events['400']!.description).toContain('INVALID_START_POINT');
    expect(events['429']!.description).toContain('TOO_MANY_STREAMS');
    expect(events['204']!.content).toBeUndefined();
  });

  it('describes the SSE form: text/event-stream items, the frame schemas, and Last-Event-ID', () => {
    const events = document.paths['/v1/runs/{runId}/events']!.get!;
    expect(events.responses['200']!.content).toEqual({
      'application/json': { schema: { $ref: '#/components/schemas/EventPage' } },
      'text/event-stream': { itemSchema: { $ref: '#/components/schemas/StreamFrame' } },
    });
    expect(events.parameters).toContainEqual(
      expect.objectContaining({ in: 'header', name: 'last-event-id' }),
    );
    const { schemas } = document.components;
    expect(schemas.StreamFrame).toEqual({
      anyOf: [
        { $ref: '#/components/schemas/EventFrame' },
        { $ref: '#/components/schemas/ReconnectFrame' },
      ],
    });
    expect(schemas.EventFrame).toMatchObject({
      required: ['id', 'event', 'data'],
      properties: {
        data: {
          contentMediaType: 'application/json',
          contentSchema: { $ref: '#/components/schemas/Event' },
        },
      },
    });
    // The reconnect frame has no id: it must not move a reader's Last-Event-ID.
    expect(schemas.ReconnectFrame).toMatchObject({
      required: ['event', 'data'],
      properties: {
        event: { const: 'reconnect' },
        data: { contentSchema: { $ref: '#/components/schemas/ReconnectData' } },
      },
    });
    expect(Object.keys(schemas.ReconnectFrame!.properties as object)).not.toContain('id');
  });

  it('lists in the error schema exactly the codes of the contract, each documented at its status', () => {
    expect(document.components.schemas.ErrorCode!.enum).toEqual([...API_ERROR_CODES]);
    const documented = new Map<ApiErrorCode, Set<string>>();
    for (const [, , op] of operations()) {
      for (const [status, response] of Object.entries(op.responses)) {
        for (const code of API_ERROR_CODES) {
          if (new RegExp(`\\b${code}:`).test(response.description)) {
            documented.set(code, (documented.get(code) ?? new Set()).add(status));
          }
        }
      }
    }
    // Every code appears somewhere (NOT_FOUND is for paths no route has), always at its status.
    for (const code of API_ERROR_CODES.filter((c) => c !== 'NOT_FOUND'))
      expect([...(documented.get(code) ?? [])], code).toEqual([String(API_ERRORS[code].status)]);
  });

  it('answers a response with what the document says: a Run fits the Run schema, a graph the Graph schema', async () => {
    const create = await fetch(`${api.url}/v1/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ graph: 'synthetic', input: { events: 1 } }),
    });
    const run = (await create.json()) as Record<string, unknown>;
    const schema = document.components.schemas.Run!;
    expect(Object.keys(run).sort()).toEqual((schema.required as string[]).slice().sort());
    const { graphs } = (await (await fetch(`${api.url}/v1/graphs`)).json()) as {
      graphs: Record<string, unknown>[];
    };
    expect(graphs.length).toBeGreaterThan(0);
    const graphSchema = document.components.schemas.Graph!;
    for (const graph of graphs)
      expect(Object.keys(graph).sort()).toEqual((graphSchema.required as string[]).slice().sort());
  });
});

describe('the API reference at /docs', () => {
  it('is served from this origin under the same strict Content-Security-Policy as the viewer', async () => {
    const [docs, viewer] = await Promise.all([fetch(`${api.url}/docs`), fetch(`${api.url}/`)]);
    expect(docs.status).toBe(200);
    expect(docs.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = docs.headers.get('content-security-policy');
    expect(csp).toBe(viewer.headers.get('content-security-policy'));
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|https?:/);
    const html = await docs.text();
    // Every script is a file of this origin: nothing inline for the CSP to allow.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    for (const src of html.matchAll(/<script src="([^"]+)"/g)) {
      const asset = await fetch(new URL(src[1]!, `${api.url}/docs/`));
      expect(asset.status, src[1]).toBe(200);
    }
    const json = (await (await fetch(`${api.url}/docs/json`)).json()) as Document;
    expect(json).toEqual(document);
  });
});
