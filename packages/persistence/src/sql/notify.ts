import { statement } from './statement.js';

/**
 * Sends a notification with no payload on channel $1: listeners re-read what they watch. Run on
 * its own, never inside a write transaction: a NOTIFY in a write transaction takes a cluster-wide
 * lock at commit and serializes every such commit.
 */
export const NOTIFY = statement<[channel: string]>('notify', `SELECT pg_notify($1::text, '')`);
