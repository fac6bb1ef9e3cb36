import { type Database, type Queryable, query } from './database.js';
import { NOTIFY } from './sql/notify.js';
import { type RegisteredGraph, READ_NEWEST_GRAPHS } from './sql/read-newest-graphs.js';
import { GRAPHS_CHANGED_CHANNEL, REGISTER_GRAPHS } from './sql/register-graphs.js';

export type { RegisteredGraph } from './sql/read-newest-graphs.js';

/** A graph version as a worker registers it. */
export interface GraphRegistration {
  /** The name runs ask for. */
  name: string;
  /** Identifies the input schema and description: equal versions take equal input. */
  version: string;
  description?: string | undefined;
  /** JSON Schema (draft 2020-12) of the graph's input. */
  inputSchema: Record<string, unknown>;
}

export interface RegisterOptions {
  /** How long the registering worker vouches that it serves these versions, from now. */
  liveForMs: number;
}

/** Where the repository runs its statements when a call is given no `tx`: the process's pool. */
export type GraphRegistryRepoDeps = Pick<Database, 'pool'>;

export type GraphRegistryRepo = ReturnType<typeof createGraphRegistryRepo>;

/** The channel on which a registration that changed the registry is announced (no payload). */
export { GRAPHS_CHANGED_CHANNEL };

/**
 * The registry of graphs in PostgreSQL: run-workers register what they serve (at start, then on a
 * heartbeat that keeps it live), and the api reads it to check a run's input, holding no graph code.
 */
export function createGraphRegistryRepo({ pool }: GraphRegistryRepoDeps) {
  return {
    /**
     * Registers (or sees again) graph versions, vouching for them for `liveForMs`. When a version
     * is new or was not live, NOTIFY tells the apis after the commit (never inside a transaction:
     * a NOTIFY in a write transaction serializes commits cluster-wide). Returns the names whose
     * registration changed.
     */
    async register(
      graphs: readonly GraphRegistration[],
      options: RegisterOptions,
    ): Promise<{ changed: string[] }> {
      if (graphs.length === 0) return { changed: [] };
      const rows = await query(pool, REGISTER_GRAPHS, [
        graphs.map((g) => g.name),
        graphs.map((g) => g.version),
        graphs.map((g) => g.description ?? null),
        graphs.map((g) => JSON.stringify(g.inputSchema)),
        Math.max(1, Math.round(options.liveForMs)),
      ]);
      const changed = rows.filter((r) => r.changed).map((r) => r.name);
      if (changed.length > 0) await query(pool, NOTIFY, [GRAPHS_CHANGED_CHANNEL]);
      return { changed };
    },

    /** The newest registration of each graph name (see READ_NEWEST_GRAPHS), sorted by name. */
    async list(tx?: Queryable): Promise<RegisteredGraph[]> {
      return query(tx ?? pool, READ_NEWEST_GRAPHS, [null]);
    },

    /** The newest registration of one graph name, or undefined when no worker ever registered it. */
    async get(name: string, tx?: Queryable): Promise<RegisteredGraph | undefined> {
      const [graph] = await query(tx ?? pool, READ_NEWEST_GRAPHS, [name]);
      return graph;
    },
  };
}
