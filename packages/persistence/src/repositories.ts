import type { Database } from './database.js';
import { createGraphRegistryRepo } from './graph-registry-repo.js';
import { createOutboxRepo } from './outbox-repo.js';
import { createRunEventRepo } from './run-event-repo.js';
import { createRunLeaseRepo } from './run-lease-repo.js';
import { createRunRepo } from './run-repo.js';

/**
 * The repositories over one Database, wired as every process wants them: the event repo's hot
 * paths on the pg pool, everything else through Prisma. Each call still takes a `tx`.
 */
export function createRepositories(db: Database) {
  return {
    runs: createRunRepo({ prisma: db.prisma }),
    leases: createRunLeaseRepo({ prisma: db.prisma }),
    events: createRunEventRepo({ prisma: db.prisma, pool: db.pool }),
    outbox: createOutboxRepo({ prisma: db.prisma }),
    graphs: createGraphRegistryRepo({ prisma: db.prisma }),
  };
}

export type Repositories = ReturnType<typeof createRepositories>;
