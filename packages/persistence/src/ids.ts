import { v7 as uuidv7 } from 'uuid';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A new run id: a UUIDv7, so ids sort by creation time and the newest-first listing can page on
 * the primary key alone.
 */
export function newRunId(): string {
  return uuidv7();
}

/** Whether a string can be a run id. A malformed id is answered like an unknown run. */
export function isRunId(value: string): boolean {
  return UUID.test(value);
}
