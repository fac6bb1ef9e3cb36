import { createGraphRegistryRepo } from '@runstream/persistence';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type StreamFixture, type TestApi, openFixture, startTestApi } from './testing/harness.js';

const KEY = 'acme-key-0001';
const auth = { authorization: `Bearer ${KEY}` };

let fx: StreamFixture;
let api: TestApi;

beforeAll(async () => {
  fx = await openFixture();
  api = await startTestApi(fx.testDb, { apiKeys: [{ tenant: 'acme', key: KEY }] });
});
afterAll(async () => {
  await api.close();
  await fx.close();
});

const post = (body: unknown) =>
  api.app.inject({ method: 'POST', url: '/v1/runs', headers: auth, payload: body as object });

describe('GET /v1/graphs', () => {
  it('lists the newest registration of each graph with its input JSON Schema', async () => {
    const res = await api.app.inject({ method: 'GET', url: '/v1/graphs', headers: auth });
    expect(res.statusCode).toBe(200);
    const { graphs } = res.json<{ graphs: Record<string, unknown>[] }>();
    expect(graphs.map((g) => g.name)).toEqual(['demo', 'synthetic']);
    expect(graphs[1]).toMatchObject({
      name: 'synthetic',
      description: 'n generated events, for tests and benchmarks',
      inputSchema: { type: 'object', required: ['events'], additionalProperties: false },
      version: expect.stringMatching(/^[0-9a-f]{24}$/) as string,
      live: true,
      lastSeenAt: expect.any(String) as string,
    });
  });

  it('needs a key like every /v1 route', async () => {
    const res = await api.app.inject({ method: 'GET', url: '/v1/graphs' });
    expect(res.statusCode).toBe(401);
  });

  it("is in the OpenAPI document, answering the contract's GraphList", async () => {
    const doc = (await api.app.inject('/docs/openapi.json')).json<{
      paths: Record<string, { get?: unknown }>;
      components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
    }>();
    expect(doc.paths['/v1/graphs']?.get).toMatchObject({
      operationId: 'listGraphs',
      tags: ['graphs'],
      responses: {
        200: {
          content: { 'application/json': { schema: { $ref: '#/components/schemas/GraphList' } } },
        },
        401: {},
        429: {},
      },
    });
    expect(doc.components.schemas.GraphList?.properties?.graphs).toEqual({
      type: 'array',
      items: { $ref: '#/components/schemas/Graph' },
    });
  });
});

describe('POST /v1/runs against the registry', () => {
  it('refuses input that does not fit the registered schema, naming the field at fault', async () => {
    const res = await post({ graph: 'synthetic', input: { events: 3, colour: 'red' } });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({
      error: {
        code: 'INVALID_INPUT',
        message: 'input.colour: is not a field of this input',
        details: [
          {
            path: ['input', 'colour'],
            message: 'is not a field of this input',
            code: 'additionalProperties',
          },
        ],
      },
    });
    const missing = await post({ graph: 'synthetic', input: {} });
    expect(missing.json()).toMatchObject({
      error: { code: 'INVALID_INPUT', message: 'input.events: is required' },
    });
  });

  it('stores the input with the defaults of its schema, and the version it fits', async () => {
    const res = await post({ graph: 'demo' });
    expect(res.statusCode).toBe(201);
    const run = res.json<{ id: string; input: unknown }>();
    expect(run.input).toEqual({ prompt: 'What is Runstream?', delayMs: 15 });
    const { rows } = await fx.testDb.db.pool.query<{ graph_version: string }>(
      'SELECT graph_version FROM runs WHERE id = $1',
      [run.id],
    );
    const demo = (await api.app.inject({ method: 'GET', url: '/v1/graphs', headers: auth })).json<{
      graphs: { name: string; version: string }[];
    }>().graphs[0]!;
    expect(rows[0]!.graph_version).toBe(demo.version);
  });

  it('refuses a graph nobody registered, and takes it as soon as a worker registers it', async () => {
    const before = await post({ graph: 'echo', input: { text: 'hi' } });
    expect(before.statusCode).toBe(400);
    expect(before.json()).toMatchObject({
      error: { code: 'UNKNOWN_GRAPH', details: [{ path: ['graph'] }] },
    });
    await createGraphRegistryRepo(fx.testDb.db).register(
      [
        {
          name: 'echo',
          version: 'e1',
          inputSchema: {
            type: 'object',
            properties: { text: { type: 'string', minLength: 1 } },
            required: ['text'],
          },
        },
      ],
      { liveForMs: 60_000 },
    );
    // No refresh in between: the api reads the registry again before it refuses a name.
    const after = await post({ graph: 'echo', input: { text: 'hi' } });
    expect(after.statusCode).toBe(201);
    expect(after.json()).toMatchObject({ graph: 'echo', status: 'queued' });
  });
});
