import type { RunEventRepo } from '@runstream/persistence';

type ReadPage = RunEventRepo['readPage'];

/**
 * Shares one database read among the streams that ask for the same page at the same time. A
 * thousand clients on one run catch up from the same seq after a lost message or at the same
 * heartbeat: they cost one query, not a thousand. Only in-flight reads are shared (no cache), so a
 * read never returns rows older than the moment it was asked for.
 */
export function coalesceReads(
  events: Pick<RunEventRepo, 'readPage'>,
): Pick<RunEventRepo, 'readPage'> {
  const inFlight = new Map<string, ReturnType<ReadPage>>();
  return {
    readPage(runId, options = {}, tx) {
      if (tx) return events.readPage(runId, options, tx);
      const key = `${runId}:${options.fromSeq ?? 1}:${options.toSeq ?? ''}:${options.limit ?? ''}:${options.maxBytes ?? ''}`;
      const pending = inFlight.get(key);
      if (pending) return pending;
      const read = events.readPage(runId, options).finally(() => inFlight.delete(key));
      inFlight.set(key, read);
      return read;
    },
  };
}
