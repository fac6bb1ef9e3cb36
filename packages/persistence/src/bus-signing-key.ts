import { type Queryable, query } from './database.js';
import { PersistenceError } from './errors.js';
import { READ_BUS_SIGNING_KEY } from './sql/read-bus-signing-key.js';
import { ROTATE_BUS_SIGNING_KEY } from './sql/rotate-bus-signing-key.js';

/**
 * The deployment's bus signing key (ADR 0012), made by migration 20261202010000_bus_signing_key.
 * The outbox worker signs live bus messages with it and the api verifies them; both read it once
 * at start. Throws a PersistenceError when the row is missing (the database is not migrated).
 */
export async function loadBusSigningKey(db: Queryable): Promise<Buffer> {
  const [row] = await query(db, READ_BUS_SIGNING_KEY, []);
  const key = row?.key;
  if (!key)
    throw new PersistenceError(
      'MIGRATION_FAILED',
      'no bus signing key in the database: run the migrations (pnpm db:migrate)',
    );
  return key;
}

/**
 * Replaces the bus signing key with a new random one (32 bytes from the server's strong random
 * source) and returns it. Processes keep the key they loaded until they restart: during a
 * rolling restart, messages signed with the other key arrive as pointers and are read from the
 * database, so nothing is lost, only some live latency.
 */
export async function rotateBusSigningKey(db: Queryable): Promise<Buffer> {
  const [row] = await query(db, ROTATE_BUS_SIGNING_KEY, []);
  const key = row?.key;
  if (!key)
    throw new PersistenceError(
      'MIGRATION_FAILED',
      'no bus signing key in the database: run the migrations (pnpm db:migrate)',
    );
  return key;
}
