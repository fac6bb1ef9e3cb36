// The generated zod models (prisma-zod-generator, from schema.prisma) at work: every statement that
// returns runs returns rows the model of Run accepts, with no field it does not know, so the one
// column list (runColumns) and schema.prisma cannot drift apart. (Their types are checked against
// RunRecord at compile time in run-columns.ts.)
import { runQueuedEvent } from '@runstream/events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { RunSchema } from '../generated/zod/schemas/models/Run.schema.js';
import { RunEventSchema } from '../generated/zod/schemas/models/RunEvent.schema.js';
import { type Repos, createRepos, openTestDatabase, seedRun } from '../testing/index.js';
import type { TestDatabaseWithClient } from '../testing/index.js';

let t: TestDatabaseWithClient;
let repos: Repos;
beforeAll(async () => {
  t = await openTestDatabase({ poolSize: 2 });
  repos = createRepos(t.db);
});
afterAll(async () => t?.drop());

const run = RunSchema.strict();

describe('rows against the generated zod models', () => {
  it('every statement that returns runs returns whole runs as schema.prisma describes them', async () => {
    const created = await repos.runs.create({
      tenant: 'zod',
      graph: 'synthetic',
      input: { a: 1 },
      idempotencyKey: 'k',
      firstEvent: runQueuedEvent('synthetic'),
    });
    const repeat = await repos.runs.create({
      tenant: 'zod',
      graph: 'synthetic',
      input: { a: 1 },
      idempotencyKey: 'k',
      firstEvent: runQueuedEvent('synthetic'),
    });
    expect(repeat.created).toBe(false);
    // What the create returned (its first event appended) is what a read returns.
    expect(await repos.runs.getById(created.run.id)).toEqual(created.run);
    expect(created.run.nextSeq).toBe(2);
    const rows = [
      created.run,
      repeat.run,
      await repos.runs.get('zod', created.run.id),
      await repos.runs.getById(created.run.id),
      ...(await repos.runs.list({ tenant: 'zod' })).runs,
      await repos.runs.requestCancel('zod', created.run.id),
    ];
    const other = await seedRun(repos, { tenant: 'zod-lease' });
    const claimed = await repos.leases.claimQueued('w', {
      graphs: [{ name: 'synthetic' }],
      limit: 10,
      leaseMs: 1,
    });
    expect(claimed.map((r) => r.id)).toContain(other.id);
    rows.push(...claimed);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const taken = await repos.leases.takeExpiredLeases('w2', 10, 60_000);
    expect(taken.length).toBeGreaterThan(0);
    rows.push(...taken.map(({ lostOwner: _, ...r }) => r));
    for (const row of rows) expect(run.parse(row)).toEqual(row);
  });

  it('stored events are rows of the RunEvent model', async () => {
    const seeded = await seedRun(repos);
    const { rows } = await t.db.pool.query(
      `SELECT run_id AS "runId", seq, type, data, terminal, created_at AS "createdAt"
         FROM run_events WHERE run_id = $1`,
      [seeded.id],
    );
    expect(rows).toHaveLength(1);
    expect(RunEventSchema.strict().parse(rows[0])).toMatchObject({ seq: 1, type: 'run.queued' });
  });
});
