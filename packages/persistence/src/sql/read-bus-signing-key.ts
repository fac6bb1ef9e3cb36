import { statement } from './statement.js';

/** The deployment's bus signing key (one row, made by its migration). */
export const READ_BUS_SIGNING_KEY = statement<[], { key: Buffer }>(
  'read_bus_signing_key',
  `SELECT key FROM bus_signing_key WHERE id = 1`,
);
