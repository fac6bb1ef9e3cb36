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
  /**
   * The server-side budget of every statement (`statement_timeout`): the server cancels a longer
   * one (SQLSTATE 57014) and the connection stays usable.
   * @default 5000
   */
  statementTimeoutMs?: number;
  /**
   * How long the client waits for any answer before it counts the connection as dead: the query
   * fails and the connection is destroyed, never handed out again. Above the statement budget,
   * so that a slow statement is the server's to stop, and only a dead or silent connection (a
   * lost NAT entry, a hung proxy) gets here.
   * @default statementTimeoutMs + 3000
   */
  queryTimeoutMs?: number;
  /** How long opening a connection (TCP, TLS, authentication) may take. @default 5000 */
  connectTimeoutMs?: number;
  /**
   * Idle time before TCP keepalive probes start; they keep NAT and firewall entries of quiet pool
   * connections alive. (Finding a dead peer is the query timeout's job: probes are slow.)
   * @default 5000
   */
  keepAliveIdleMs?: number;
}

/** pg's message for a query that got no answer within its query_timeout. */
const QUERY_READ_TIMEOUT = 'Query read timeout';

/**
 * A pg client whose connection is destroyed when a query gets no answer in time. pg fails such a
 * query but keeps the connection, with the silent query still in front of everything queued
 * after it; a pool then hands the client out again (Prisma's driver adapter releases a
 * transaction's client without an error, whatever happened inside). Destroying the socket makes
 * pg fail the rest at once and mark the client unusable, so the pool drops it at release.
 */
function deadlineClient(settings: pg.ClientConfig): typeof pg.Client {
  return class DeadlineClient extends pg.Client {
    constructor(config?: pg.ClientConfig) {
      // The pool passes its own options; the connect timeout is set here rather than on the
      // pool, where it would also bound the wait for a free connection.
      super({ ...config, ...settings });
      const query = this.query.bind(this) as (...args: unknown[]) => unknown;
      const watch = (error: unknown): void => {
        if (error instanceof Error && error.message === QUERY_READ_TIMEOUT)
          this.connection.stream.destroy();
      };
      // Wraps every form of query(): callback last, or a returned promise.
      this.query = ((...args: unknown[]) => {
        const last = args[args.length - 1];
        if (typeof last === 'function') {
          args[args.length - 1] = (error: unknown, result: unknown) => {
            watch(error);
            (last as (error: unknown, result: unknown) => void)(error, result);
          };
          return query(...args);
        }
        const result = query(...args);
        if (result instanceof Promise) result.catch(watch);
        return result;
      }) as typeof this.query;
    }
  };
}

/** One pool per process, shared by Prisma and by the few places that need a raw pg client. */
export interface Database {
  readonly prisma: PrismaClient;
  readonly pool: pg.Pool;
  close(): Promise<void>;
}

export function createDatabase(options: DatabaseOptions): Database {
  const statementTimeoutMs = options.statementTimeoutMs ?? 5000;
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize ?? 10,
    application_name: options.applicationName ?? 'runstream',
    // A worker that hangs inside a transaction must not hold row locks for ever: the server ends
    // such sessions, which releases their SKIP LOCKED claims to the other replicas.
    idle_in_transaction_session_timeout: 30_000,
    statement_timeout: statementTimeoutMs,
    query_timeout: options.queryTimeoutMs ?? statementTimeoutMs + 3000,
    Client: deadlineClient({
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
      keepAlive: true,
      keepAliveInitialDelayMillis: options.keepAliveIdleMs ?? 5000,
    }),
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
