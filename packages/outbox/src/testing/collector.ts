import type { Bus, BusMessage } from '@runstream/bus';
import type { RunEventRepo } from '@runstream/persistence';

/**
 * A subscriber that behaves as the api's stream must: drop seq <= last, fill a gap or a resync
 * from the database, resolve pointers from the database. It counts what came live and what had
 * to be read, so tests can insist that nothing was lost on the bus.
 */
export function createCollector(bus: Bus, events: RunEventRepo) {
  const runs = new Map<
    string,
    { seqs: number[]; live: Set<number>; duplicates: number; gaps: number; queue: Promise<void> }
  >();
  let resyncs = 0;
  const errors: unknown[] = [];

  const fill = async (runId: string): Promise<void> => {
    const r = runs.get(runId)!;
    for (;;) {
      const last = r.seqs[r.seqs.length - 1] ?? 0;
      const page = await events.readPage(runId, { fromSeq: last + 1, limit: 1000 });
      for (const row of page) r.seqs.push(row.seq);
      if (page.length < 1000) return;
    }
  };

  const onMessage = async (m: BusMessage): Promise<void> => {
    const r = runs.get(m.runId)!;
    const last = r.seqs[r.seqs.length - 1] ?? 0;
    if (m.seq <= last) {
      r.duplicates++;
      return;
    }
    if (m.seq > last + 1) {
      r.gaps++;
      await fill(m.runId);
      return;
    }
    if (!m.event) {
      const [row] = await events.readPage(m.runId, { fromSeq: m.seq, toSeq: m.seq });
      if (row?.seq !== m.seq) throw new Error(`pointer to a missing event ${m.runId}/${m.seq}`);
    }
    r.seqs.push(m.seq);
    r.live.add(m.seq);
  };

  const enqueue = (runId: string, fn: () => Promise<void>): void => {
    const r = runs.get(runId)!;
    r.queue = r.queue.then(fn).catch((error: unknown) => void errors.push(error));
  };

  return {
    async follow(runId: string) {
      runs.set(runId, {
        seqs: [],
        live: new Set(),
        duplicates: 0,
        gaps: 0,
        queue: Promise.resolve(),
      });
      return bus.subscribe(runId, {
        onMessage: (m) => enqueue(runId, () => onMessage(m)),
        onResync: () => {
          resyncs++;
          enqueue(runId, () => fill(runId));
        },
      });
    },
    get(runId: string) {
      return runs.get(runId)!;
    },
    total(): number {
      let n = 0;
      for (const r of runs.values()) n += r.seqs.length;
      return n;
    },
    liveTotal(): number {
      let n = 0;
      for (const r of runs.values()) n += r.live.size;
      return n;
    },
    resyncs: () => resyncs,
    errors: () => errors,
    /** Waits until each of these runs has seen as many events as `expected` says. */
    async waitForAll(
      runIds: readonly string[],
      expected: (runId: string) => number,
      timeoutMs = 60_000,
    ) {
      const deadline = Date.now() + timeoutMs;
      while (!runIds.every((id) => runs.get(id)!.seqs.length >= expected(id))) {
        if (Date.now() > deadline)
          throw new Error(`collector: not every run complete after ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await Promise.all(runIds.map((id) => runs.get(id)!.queue));
    },
  };
}

export type Collector = ReturnType<typeof createCollector>;
