import { statement } from './statement.js';

/**
 * Registers graph versions a worker serves: $1 names, $2 versions, $3 descriptions (NULL for none),
 * $4 input JSON Schemas as JSON text, four arrays of one length; $5 how long, in ms, the worker
 * vouches for them. A new (name, version) is inserted; a known one is seen again: `last_seen_at`
 * moves to now and `live_until` only ever moves forward (another worker of the same version may
 * vouch for longer). Version is a hash of the schema and the description, so a known row keeps
 * them. Rows are written in (name, version) order, so two workers registering the same graphs at
 * once lock them in the same order and never deadlock.
 *
 * Returns each row with `changed`: inserted, or not live before this statement (the data-modifying
 * CTE does not see `before`'s snapshot change). A change is what the api must hear about at once:
 * the newest live registration of a name may now be another one.
 */
export const REGISTER_GRAPHS = statement<
  [
    names: string[],
    versions: string[],
    descriptions: (string | null)[],
    inputSchemas: string[],
    liveForMs: number,
  ],
  { name: string; version: string; changed: boolean }
>(
  'register_graphs',
  `
WITH given AS (
  SELECT name, version, description, input_schema::jsonb AS input_schema
    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS g(name, version, description, input_schema)
), before AS (
  SELECT r.name, r.version, r.live_until > now() AS live
    FROM graph_registrations r JOIN given g ON g.name = r.name AND g.version = r.version
), upserted AS (
  INSERT INTO graph_registrations AS r (name, version, description, input_schema, live_until)
  SELECT name, version, description, input_schema, now() + $5::int * interval '1 millisecond'
    FROM given ORDER BY name, version
  ON CONFLICT (name, version) DO UPDATE
     SET last_seen_at = now(), live_until = GREATEST(r.live_until, EXCLUDED.live_until)
  RETURNING r.name, r.version
)
SELECT u.name, u.version, NOT coalesce(b.live, false) AS changed
  FROM upserted u LEFT JOIN before b ON b.name = u.name AND b.version = u.version
 ORDER BY u.name`,
);

/** Carries no payload: listeners re-read the registry. Sent after the registration committed. */
export const GRAPHS_CHANGED_CHANNEL = 'runstream_graphs';
