import type { Db } from './database.js';
import {
  GRAPHS_CHANGED_CHANNEL,
  NEWEST_GRAPHS_SQL,
  REGISTER_GRAPHS_SQL,
} from './sql/graph-registrations.js';

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

/** A stored registration, as the api reads it. */
export interface RegisteredGraph {
  name: string;
  version: string;
  description: string | null;
  inputSchema: Record<string, unknown>;
  firstRegisteredAt: Date;
  lastSeenAt: Date;
  /** Some worker vouched, less than its live period ago, that it serves this version. */
  live: boolean;
}

export interface RegisterOptions {
  /** How long the registering worker vouches that it serves these versions, from now. */
  liveForMs: number;
}

export interface GraphRegistryRepoDeps {
  prisma: Db;
}

export type GraphRegistryRepo = ReturnType<typeof createGraphRegistryRepo>;

/** The channel on which a registration that changed the registry is announced (no payload). */
export { GRAPHS_CHANGED_CHANNEL };

/**
 * The registry of graphs in PostgreSQL: run-workers register what they serve (at start, then on a
 * heartbeat that keeps it live), and the api reads it to check a run's input, holding no graph code.
 */
export function createGraphRegistryRepo({ prisma }: GraphRegistryRepoDeps) {
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
      const rows = await prisma.$queryRawUnsafe<{ name: string; changed: boolean }[]>(
        REGISTER_GRAPHS_SQL,
        graphs.map((g) => g.name),
        graphs.map((g) => g.version),
        graphs.map((g) => g.description ?? null),
        graphs.map((g) => JSON.stringify(g.inputSchema)),
        Math.max(1, Math.round(options.liveForMs)),
      );
      const changed = rows.filter((r) => r.changed).map((r) => r.name);
      if (changed.length > 0)
        await prisma.$executeRawUnsafe(`SELECT pg_notify('${GRAPHS_CHANGED_CHANNEL}', '')`);
      return { changed };
    },

    /** The newest registration of each graph name (see NEWEST_GRAPHS_SQL), sorted by name. */
    async list(tx?: Db): Promise<RegisteredGraph[]> {
      return (tx ?? prisma).$queryRawUnsafe<RegisteredGraph[]>(NEWEST_GRAPHS_SQL, null);
    },

    /** The newest registration of one graph name, or undefined when no worker ever registered it. */
    async get(name: string, tx?: Db): Promise<RegisteredGraph | undefined> {
      const rows = await (tx ?? prisma).$queryRawUnsafe<RegisteredGraph[]>(NEWEST_GRAPHS_SQL, name);
      return rows[0];
    },
  };
}
