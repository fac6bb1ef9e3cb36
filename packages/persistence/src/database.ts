import pg from 'pg';

import type { Statement } from './sql/statement.js';

/**
 * Where a statement runs: the process's pool (each statement on whichever connection is free), or
 * one client, which is how a statement joins a transaction (see `transaction`).
 */
export type Queryable = pg.Pool | pg.ClientBase;

/** A client inside a transaction that the caller opened and will end (see `transaction`). */
export type TransactionClient = pg.ClientBase;

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
 * after it; a pool then hands the client out again unless its releaser passes the error. Destroying the socket makes
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

/** One pool per process: every repository statement runs on it, or on one of its clients. */
export interface Database {
  readonly pool: pg.Pool;
  /**
   * Runs `fn` in a transaction on one client of the pool: COMMIT when it resolves, ROLLBACK when it
   * throws (the client is then destroyed if even the rollback fails).
   */
  transaction<T>(fn: (tx: TransactionClient) => Promise<T>): Promise<T>;
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
  let closed: Promise<void> | undefined;
  return {
    pool,
    transaction: (fn) => transaction(pool, fn),
    close() {
      closed ??= pool.end();
      return closed;
    },
  };
}

/**
 * Runs one statement and returns its rows: the one way every repository talks to PostgreSQL. The
 * statement always goes by its name (the extended protocol's named prepared statement), on a pool
 * as on a transaction's client, so each connection parses and plans it once, not at every call
 * (about 15% of a single-event append). `params` are typed by the statement.
 */
export async function query<Params extends readonly unknown[], Row>(
  db: Queryable,
  statement: Statement<Params, Row>,
  params: Params,
): Promise<Row[]> {
  const config: pg.QueryConfig<unknown[]> = {
    name: statement.name,
    text: statement.text,
    values: params as unknown as unknown[],
  };
  // pg.Pool and pg.ClientBase declare query() with different overloads; this form is in both.
  const result = await (db as pg.ClientBase).query<Row & pg.QueryResultRow>(config);
  return result.rows;
}

/** `query` for a statement that writes and returns nothing: how many rows it touched. */
export async function execute<Params extends readonly unknown[]>(
  db: Queryable,
  statement: Statement<Params, never>,
  params: Params,
): Promise<number> {
  const result = await (db as pg.ClientBase).query({
    name: statement.name,
    text: statement.text,
    values: params as unknown as unknown[],
  });
  return result.rowCount ?? 0;
}

/**
 * Runs `fn` in a transaction on a client of `pool` (see Database.transaction). A client whose
 * ROLLBACK fails is released with the error, so the pool destroys it instead of handing out a
 * connection in an unknown state.
 */
export async function transaction<T>(
  pool: pg.Pool,
  fn: (tx: TransactionClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch((rollbackError: Error) => {
      broken = rollbackError;
    });
    throw error;
  } finally {
    client.release(broken);
  }
}

/** The statements each client has prepared for `executeCommand`, by client. */
const preparedOn = new WeakMap<pg.ClientBase, Set<string>>();

/**
 * The command `EXECUTE <statement>(<params>)`, for a simple-protocol query that sends it together
 * with other commands in one round trip (`BEGIN; ...; EXECUTE ...`, `EXECUTE ...; COMMIT`), which
 * the extended protocol of `query` cannot. The statement's text is never edited: it is prepared on
 * the client once (SQL PREPARE, under its name plus `_exec`, apart from the name `query` prepares
 * it under), and the parameters are bound by EXECUTE, each quoted as a literal by pg's
 * escapeLiteral (arrays as PostgreSQL array literals), so that they cannot change the command.
 */
export async function executeCommand<Params extends readonly unknown[], Row>(
  client: pg.ClientBase,
  statement: Statement<Params, Row>,
  params: Params,
): Promise<string> {
  const name = `${statement.name}_exec`;
  let prepared = preparedOn.get(client);
  if (!prepared) preparedOn.set(client, (prepared = new Set()));
  if (!prepared.has(name)) {
    // PREPARE is not transactional (a rollback keeps it), so the set never lies about the session.
    await client.query(`PREPARE ${name} AS ${statement.text}`);
    prepared.add(name);
  }
  return `EXECUTE ${name}(${params.map(literal).join(', ')})`;
}

function literal(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (Array.isArray(value)) return pg.escapeLiteral(`{${value.map(arrayElement).join(',')}}`);
  return pg.escapeLiteral(scalar(value));
}

function arrayElement(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  return `"${scalar(value).replace(/[\\"]/g, '\\$&')}"`;
}

function scalar(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  throw new TypeError(`cannot pass ${typeof value} ${String(value)} to EXECUTE`);
}
