import type { Database } from './database.js';
import { createGraphRegistryRepo } from './graph-registry-repo.js';
import { createOutboxRepo } from './outbox-repo.js';
import { createRunEventRepo } from './run-event-repo.js';
import { createRunLeaseRepo } from './run-lease-repo.js';
import { createRunRepo } from './run-repo.js';

/**
 * The repositories over one Database's pool. Each call still takes a `tx` (a client in the
 * caller's transaction, see Database.transaction) to run in instead.
 */
export function createRepositories(db: Pick<Database, 'pool'>) {
  return {
    runs: createRunRepo(db),
    leases: createRunLeaseRepo(db),
    events: createRunEventRepo(db),
    outbox: createOutboxRepo(db),
    graphs: createGraphRegistryRepo(db),
  };
}

export type Repositories = ReturnType<typeof createRepositories>;
