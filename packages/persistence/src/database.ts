import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';

import { PrismaClient } from './generated/prisma/client.js';

/** The Prisma client, or the client of an interactive transaction opened from it. */
export type Db = PrismaClient | TransactionClient;
export type TransactionClient = Parameters<Parameters<PrismaClient['$transaction']>[0]>[0];

export interface DatabaseOptions {
  /** PostgreSQL connection string. */
  url: string;
  /**
   * Connections in the pool.
   * @default 10
   */
  poolSize?: number;
  /** Name shown in pg_stat_activity, to tell processes apart. */
  applicationName?: string;
  /** Told about connections lost outside a query (for logging); they never crash the process. */
  onConnectionError?: (error: Error) => void;
}

/** One pool per process, shared by Prisma and by the few places that need a raw pg client. */
export interface Database {
  readonly prisma: PrismaClient;
  readonly pool: pg.Pool;
  close(): Promise<void>;
}

export function createDatabase(options: DatabaseOptions): Database {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize ?? 10,
    application_name: options.applicationName ?? 'runstream',
    // A worker that hangs inside a transaction must not hold row locks for ever: the server ends
    // such sessions, which releases their SKIP LOCKED claims to the other replicas.
    options: '-c idle_in_transaction_session_timeout=30000',
  });
  // A connection can drop (server restart, pg_terminate_backend). An idle client's error reaches
  // the pool, which replaces it on the next checkout; a checked-out client (inside a transaction,
  // between two statements) emits 'error' on itself, which nobody listens to then. Without these
  // listeners either would crash the process; the failed statement still rejects for its caller.
  pool.on('error', (error) => options.onConnectionError?.(error));
  pool.on('connect', (client) => client.on('error', (error) => options.onConnectionError?.(error)));
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  let closed: Promise<void> | undefined;
  return {
    prisma,
    pool,
    close() {
      closed ??= (async () => {
        await prisma.$disconnect();
        await pool.end();
      })();
      return closed;
    },
  };
}

/**
 * Runs one hot-path statement (append, replay page) in the caller's transaction when given one,
 * else straight on the pg pool: one round trip without Prisma's per-query overhead, which costs
 * about half the throughput of a small statement (see bench/persistence.bench.ts). On the pool the
 * statement is prepared once per connection under `name`, so PostgreSQL parses and plans the
 * append's CTE once rather than at every call (about 15% of a single-event append).
 */
export async function queryRows<T>(
  deps: { prisma: Db; pool?: pg.Pool | undefined },
  tx: Db | undefined,
  statement: { name: string; text: string },
  params: readonly unknown[],
): Promise<T[]> {
  if (tx) return tx.$queryRawUnsafe<T[]>(statement.text, ...params);
  if (deps.pool) {
    return (
      await deps.pool.query({ name: statement.name, text: statement.text, values: [...params] })
    ).rows as T[];
  }
  return deps.prisma.$queryRawUnsafe<T[]>(statement.text, ...params);
}
