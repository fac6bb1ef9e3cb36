import { useTestDatabase } from '@runstream/persistence/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { RunInputError, createGraphCatalog, createRun } from './index.js';

const t = useTestDatabase({ beforeAll, afterAll }, { poolSize: 4 });
const repos = t.repos;

beforeEach(async () => {
  await t.db.pool.query('DELETE FROM runs');
  await t.db.pool.query('DELETE FROM graph_registrations');
});

/** echo's input as zod writes `z.strictObject({ text: z.string().min(1).max(10) })`. */
const echoSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  properties: {
    text: { type: 'string', minLength: 1, maxLength: 10 },
    times: { type: 'integer', minimum: 1, default: 1 },
    tags: { type: 'array', items: { type: 'string', pattern: '^[a-z]+$' } },
  },
  required: ['text'],
  additionalProperties: false,
};
const LIVE = { liveForMs: 60_000 };

async function refusal(promise: Promise<unknown>): Promise<RunInputError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof RunInputError) return error;
    throw error;
  }
  throw new Error('expected a RunInputError');
}

describe('the graph catalog', () => {
  it('checks input against the registered JSON Schema, applying its defaults, and names the field at fault', async () => {
    await repos.graphs.register([{ name: 'echo', version: 'e1', inputSchema: echoSchema }], LIVE);
    const catalog = createGraphCatalog({ registry: repos.graphs });
    const given = { text: 'hi' };
    expect(await catalog.check('echo', given)).toEqual({
      graph: 'echo',
      version: 'e1',
      input: { text: 'hi', times: 1 },
    });
    expect(given).toEqual({ text: 'hi' });
    const cases: [unknown, (string | number)[], string][] = [
      [{}, ['input', 'text'], 'required'],
      [undefined, ['input', 'text'], 'required'],
      [{ text: '' }, ['input', 'text'], 'minLength'],
      [{ text: 'x', times: 0 }, ['input', 'times'], 'minimum'],
      [{ text: 'x', colour: 'red' }, ['input', 'colour'], 'additionalProperties'],
      [{ text: 'x', tags: ['ok', 'NOT'] }, ['input', 'tags', 1], 'pattern'],
    ];
    for (const [input, path, code] of cases) {
      const error = await refusal(catalog.check('echo', input));
      expect(error.code).toBe('INVALID_INPUT');
      expect(error.details[0]).toMatchObject({ path, code });
      expect(error.message).toMatch(new RegExp(`^${path.join('\\.')}: `));
    }
  });

  it('ADR 0021: enforces a rule across fields declared with x-runstream-le (synthetic failAt <= events): 400 at the door, the field named', async () => {
    const counterSchema = {
      type: 'object',
      properties: {
        events: { type: 'integer', minimum: 1 },
        failAt: { type: 'integer', minimum: 1 },
        nested: {
          type: 'object',
          properties: { low: { type: 'number' }, high: { type: 'number' } },
          'x-runstream-le': [['low', 'high']],
        },
      },
      required: ['events'],
      'x-runstream-le': [['failAt', 'events']],
    };
    await repos.graphs.register(
      [{ name: 'counter', version: 'c1', inputSchema: counterSchema }],
      LIVE,
    );
    const catalog = createGraphCatalog({ registry: repos.graphs });
    expect((await catalog.check('counter', { events: 5, failAt: 5 })).input).toEqual({
      events: 5,
      failAt: 5,
    });
    expect((await catalog.check('counter', { events: 5 })).version).toBe('c1');
    const over = await refusal(catalog.check('counter', { events: 5, failAt: 6 }));
    expect(over.code).toBe('INVALID_INPUT');
    expect(over.details[0]).toMatchObject({ path: ['input', 'failAt'], code: 'x-runstream-le' });
    expect(over.message).toBe('input.failAt: must be at most events (5)');
    const nested = await refusal(
      catalog.check('counter', { events: 1, nested: { low: 3, high: 2 } }),
    );
    expect(nested.details[0]).toMatchObject({ path: ['input', 'nested', 'low'] });
  });

  it('refuses a graph no worker registered, naming the graph field', async () => {
    const catalog = createGraphCatalog({ registry: repos.graphs });
    const error = await refusal(catalog.check('nope', {}));
    expect(error.code).toBe('UNKNOWN_GRAPH');
    expect(error.details).toEqual([
      {
        path: ['graph'],
        message: expect.stringContaining('nope') as string,
        code: 'unknown_graph',
      },
    ]);
  });

  it('knows a graph registered after its last refresh at once: it reads the registry before refusing', async () => {
    const catalog = createGraphCatalog({ registry: repos.graphs }, { refreshMs: 3_600_000 });
    catalog.start();
    await catalog.refresh();
    try {
      await repos.graphs.register([{ name: 'echo', version: 'e1', inputSchema: echoSchema }], LIVE);
      expect((await catalog.check('echo', { text: 'now' })).version).toBe('e1');
    } finally {
      catalog.close();
    }
  });

  it('refuses only the graph whose registered schema does not compile, as a fault of the server', async () => {
    await repos.graphs.register(
      [
        { name: 'echo', version: 'e1', inputSchema: echoSchema },
        { name: 'odd', version: 'o1', inputSchema: { type: 'not-a-json-type' } },
      ],
      LIVE,
    );
    const warnings: string[] = [];
    const catalog = createGraphCatalog({
      registry: repos.graphs,
      logger: { warn: (_fields, message) => warnings.push(message) },
    });
    await catalog.refresh();
    expect(warnings).toEqual([
      'a registered input schema does not compile: runs of this graph version are refused',
    ]);
    expect((await catalog.check('echo', { text: 'x' })).version).toBe('e1');
    const error: unknown = await catalog.check('odd', {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(RunInputError);
    expect((error as Error).message).toMatch(
      /graph "odd" \(version o1\) has an input schema that does not compile/,
    );
  });

  it('moves to a newer version on refresh', async () => {
    await repos.graphs.register([{ name: 'echo', version: 'e1', inputSchema: echoSchema }], LIVE);
    const catalog = createGraphCatalog({ registry: repos.graphs });
    await catalog.refresh();
    const stricter = {
      ...echoSchema,
      properties: { ...echoSchema.properties, shout: { type: 'boolean' } },
      required: ['text', 'shout'],
    };
    await repos.graphs.register([{ name: 'echo', version: 'e2', inputSchema: stricter }], LIVE);
    expect((await catalog.check('echo', { text: 'x' })).version).toBe('e1');
    await catalog.refresh();
    expect((await refusal(catalog.check('echo', { text: 'x' }))).details[0]!.path).toEqual([
      'input',
      'shout',
    ]);
    expect((await catalog.check('echo', { text: 'x', shout: true })).version).toBe('e2');
  });
});

describe('createRun', () => {
  const count = async (): Promise<number> =>
    (
      await t.db.pool.query<{ n: number }>(
        'SELECT (SELECT count(*) FROM runs)::int + (SELECT count(*) FROM run_events)::int AS n',
      )
    ).rows[0]!.n;

  it('creates a queued run with run.queued, the checked input and the version it fits', async () => {
    await repos.graphs.register([{ name: 'echo', version: 'e1', inputSchema: echoSchema }], LIVE);
    const catalog = createGraphCatalog({ registry: repos.graphs });
    const { run, created } = await createRun(
      { runs: repos.runs, catalog },
      { tenant: 't', graph: 'echo', input: { text: 'hello' } },
    );
    expect(created).toBe(true);
    expect(run).toMatchObject({
      graph: 'echo',
      graphVersion: 'e1',
      status: 'queued',
      input: { text: 'hello', times: 1 },
      nextSeq: 2,
    });
    const { rows } = await t.db.pool.query('SELECT type, data FROM run_events WHERE run_id = $1', [
      run.id,
    ]);
    expect(rows).toEqual([{ type: 'run.queued', data: { graph: 'echo' } }]);
  });

  it('writes nothing for an unknown graph or an input that does not fit', async () => {
    await repos.graphs.register([{ name: 'echo', version: 'e1', inputSchema: echoSchema }], LIVE);
    const catalog = createGraphCatalog({ registry: repos.graphs });
    const before = await count();
    const create = (graph: string, input: unknown) =>
      createRun({ runs: repos.runs, catalog }, { tenant: 't', graph, input });
    await expect(create('nope', {})).rejects.toMatchObject({ code: 'UNKNOWN_GRAPH' });
    await expect(create('echo', { text: 'x', extra: true })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
    });
    expect(await count()).toBe(before);
  });
});
