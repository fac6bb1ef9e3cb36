import type { Database } from '../database.js';
import { createOutboxRepo } from '../outbox-repo.js';
import { createRunEventRepo } from '../run-event-repo.js';
import { createRunRepo } from '../run-repo.js';

/** The three repositories over one Database, as the processes wire them. */
export function createRepos(db: Database) {
  return {
    runs: createRunRepo({ prisma: db.prisma }),
    events: createRunEventRepo({ prisma: db.prisma, pool: db.pool }),
    outbox: createOutboxRepo({ prisma: db.prisma }),
  };
}

export type Repos = ReturnType<typeof createRepos>;

/** Creates a queued run with its first event, for tests that need one. */
export async function seedRun(repos: Repos, overrides: { tenant?: string; graph?: string; idempotencyKey?: string } = {}) {
  const { run } = await repos.runs.create({
    tenant: overrides.tenant ?? 'default',
    graph: overrides.graph ?? 'synthetic',
    input: {},
    idempotencyKey: overrides.idempotencyKey,
    firstEvent: { type: 'run.queued', data: {} },
  });
  return run;
}
