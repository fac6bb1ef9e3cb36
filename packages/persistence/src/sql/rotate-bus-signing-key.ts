import { statement } from './statement.js';

/**
 * Replaces the bus signing key with 32 new bytes from the server's strong random source and
 * returns them. Keeps the table's CHECKs (one row, a key of at least 32 bytes): it updates the one
 * row, never inserts.
 */
export const ROTATE_BUS_SIGNING_KEY = statement<[], { key: Buffer }>(
  'rotate_bus_signing_key',
  `
UPDATE bus_signing_key
   SET key = decode(replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex'),
       created_at = now()
 WHERE id = 1
RETURNING key`,
);
