import pg from 'pg';
import { waitFor } from '@runstream/testkit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { GRAPHS_CHANGED_CHANNEL, type GraphRegistration } from './graph-registry-repo.js';
import { useTestDatabase } from './testing/index.js';

const t = useTestDatabase({ beforeAll, afterAll }, { poolSize: 4 });
const repos = t.repos;

beforeEach(async () => {
  await t.db.pool.query('DELETE FROM runs');
  await t.db.pool.query('DELETE FROM graph_registrations');
});

const schema = (required: string[]) => ({ type: 'object', properties: {}, required });
const echoV1: GraphRegistration = { name: 'echo', version: 'v1', inputSchema: schema(['text']) };
const echoV2: GraphRegistration = {
  name: 'echo',
  version: 'v2',
  description: 'the second one',
  inputSchema: schema(['text', 'shout']),
};
const other: GraphRegistration = { name: 'other', version: 'o1', inputSchema: schema([]) };
const LIVE = { liveForMs: 60_000 };

/** Makes a version look as if its workers stopped vouching for it a while ago. */
async function expire(name: string, version: string): Promise<void> {
  await t.db.pool.query(
    `UPDATE graph_registrations SET live_until = now() - interval '1 second'
      WHERE name = $1 AND version = $2`,
    [name, version],
  );
}

async function queue(graph: string, graphVersion?: string, tenant = 't'): Promise<string> {
  const { run } = await repos.runs.create({
    tenant,
    graph,
    graphVersion,
    input: {},
    firstEvent: { type: 'run.queued', data: { graph } },
  });
  return run.id;
}

describe('graph registrations', () => {
  it('registers new versions as changed, and a repeat as unchanged but seen again', async () => {
    expect(await repos.graphs.register([echoV1, other], LIVE)).toEqual({
      changed: ['echo', 'other'],
    });
    const first = await repos.graphs.get('echo');
    expect(first).toMatchObject({
      name: 'echo',
      version: 'v1',
      description: null,
      inputSchema: echoV1.inputSchema,
      live: true,
    });
    expect(await repos.graphs.register([echoV1, other], LIVE)).toEqual({ changed: [] });
    const again = await repos.graphs.get('echo');
    expect(again!.lastSeenAt.getTime()).toBeGreaterThanOrEqual(first!.lastSeenAt.getTime());
    expect(again!.firstRegisteredAt).toEqual(first!.firstRegisteredAt);
    // A version whose workers all went away comes back as a change: the api must hear of it.
    await expire('echo', 'v1');
    expect((await repos.graphs.get('echo'))!.live).toBe(false);
    expect(await repos.graphs.register([echoV1], LIVE)).toEqual({ changed: ['echo'] });
  });

  it('never shortens how long a version is live (another worker of it may vouch for longer)', async () => {
    await repos.graphs.register([echoV1], { liveForMs: 600_000 });
    await repos.graphs.register([echoV1], { liveForMs: 1 });
    const { rows } = await t.db.pool.query<{ left: number }>(
      `SELECT extract(epoch FROM live_until - now()) AS left FROM graph_registrations`,
    );
    expect(Number(rows[0]!.left)).toBeGreaterThan(500);
  });

  it('announces a change on its channel after the commit, and nothing when nothing changed', async () => {
    const listener = new pg.Client({ connectionString: t.url });
    await listener.connect();
    try {
      const heard: string[] = [];
      listener.on('notification', (n) => heard.push(n.channel));
      await listener.query(`LISTEN ${GRAPHS_CHANGED_CHANNEL}`);
      await repos.graphs.register([echoV1], LIVE);
      await waitFor('the registration to be announced', () => heard.length === 1);
      await repos.graphs.register([echoV1], LIVE);
      // A change after the repeat: had the repeat been announced, two would arrive before it.
      await repos.graphs.register([other], LIVE);
      await waitFor('the second change to be announced', () => heard.length >= 2);
      expect(heard).toEqual([GRAPHS_CHANGED_CHANNEL, GRAPHS_CHANGED_CHANNEL]);
    } finally {
      await listener.end();
    }
  });

  it('answers the newest live version of each name; with none live, the newest of all', async () => {
    await repos.graphs.register([echoV1, other], LIVE);
    await repos.graphs.register([echoV2], LIVE);
    expect((await repos.graphs.list()).map((g) => [g.name, g.version, g.live])).toEqual([
      ['echo', 'v2', true],
      ['other', 'o1', true],
    ]);
    // A rollback: the new workers are gone, the old ones still serve v1.
    await expire('echo', 'v2');
    expect(await repos.graphs.get('echo')).toMatchObject({ version: 'v1', live: true });
    // Every worker gone: the graph stays known (its runs wait), at its newest version.
    await expire('echo', 'v1');
    expect(await repos.graphs.get('echo')).toMatchObject({ version: 'v2', live: false });
    expect(await repos.graphs.get('nobody-registered-this')).toBeUndefined();
  });
});

describe('claims and graphs', () => {
  const claim = (worker: string, graphs: { name: string; version?: string }[], limit = 10) =>
    repos.leases.claimQueued(worker, { graphs, limit, leaseMs: 60_000 });

  it('rolling deploy: a worker claims only runs of the graphs it serves; the rest wait queued', async () => {
    const echo = await queue('echo');
    const synthetic = await queue('synthetic');
    expect((await claim('old', [{ name: 'synthetic' }])).map((r) => r.id)).toEqual([synthetic]);
    expect(await claim('old', [{ name: 'synthetic' }, { name: 'demo' }])).toEqual([]);
    expect((await repos.runs.getById(echo)).status).toBe('queued');
    expect((await claim('new', [{ name: 'echo' }])).map((r) => r.id)).toEqual([echo]);
  });

  it('takes oldest first across the graphs it serves, within each tenant', async () => {
    const ids = [
      await queue('a'),
      await queue('b'),
      await queue('c'),
      await queue('a'),
      await queue('b'),
    ];
    const claimed = await claim('w', [{ name: 'a' }, { name: 'b' }], 3);
    expect(claimed.map((r) => r.id)).toEqual([ids[0], ids[1], ids[3]]);
  });

  it('claims a queued run with a cancel request whatever its graph (it is only ended)', async () => {
    const id = await queue('nobody-serves-this');
    await repos.runs.requestCancel('t', id);
    expect((await claim('w', [{ name: 'synthetic' }])).map((r) => r.id)).toEqual([id]);
  });

  it('leaves a run of another live version to its workers, and takes it once none is live', async () => {
    await repos.graphs.register([echoV1, echoV2], LIVE);
    const forV2 = await queue('echo', 'v2');
    const forV1 = await queue('echo', 'v1');
    const unversioned = await queue('echo');
    const v1Worker = [{ name: 'echo', version: 'v1' }];
    expect((await claim('old', v1Worker)).map((r) => r.id)).toEqual([forV1, unversioned]);
    // The v2 workers are gone: the run is anyone's that serves echo (who re-checks its input).
    await expire('echo', 'v2');
    expect((await claim('old', v1Worker)).map((r) => r.id)).toEqual([forV2]);
    expect((await repos.runs.getById(forV2)).graphVersion).toBe('v2');
  });
});
