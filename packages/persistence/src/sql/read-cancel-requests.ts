import { statement } from './statement.js';

/**
 * Which of the given unfinished runs have a cancel request: a read (no lock, no write), cheap enough
 * to poll often. An ended run never counts: its cancel request, if any, is moot.
 *
 * $1 run ids.
 */
export const READ_CANCEL_REQUESTS = statement<[runIds: string[]], { id: string }>(
  'read_cancel_requests',
  `
SELECT id FROM runs
 WHERE id = ANY($1::uuid[]) AND cancel_requested_at IS NOT NULL AND finished_at IS NULL`,
);
