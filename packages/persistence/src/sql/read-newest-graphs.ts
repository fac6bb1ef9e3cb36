import { statement } from './statement.js';

/**
 * The newest registration of each graph name ($1 NULL), or of one name ($1): among the versions
 * some worker serves now (live), the one first registered last; when none is live, the one first
 * registered last of all. So a rolling deploy switches the api to the new version as soon as a new
 * worker registers it, and a rollback switches it back once the new workers are gone, while a graph
 * whose workers are all down stays known (its runs wait queued).
 */
export const READ_NEWEST_GRAPHS = statement<[name: string | null], RegisteredGraph>(
  'read_newest_graphs',
  `
SELECT DISTINCT ON (name)
       name, version, description, input_schema AS "inputSchema",
       first_registered_at AS "firstRegisteredAt", last_seen_at AS "lastSeenAt",
       live_until > now() AS live
  FROM graph_registrations
 WHERE $1::text IS NULL OR name = $1::text
 ORDER BY name, live_until > now() DESC, first_registered_at DESC, version`,
);

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
