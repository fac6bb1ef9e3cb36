import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import type { Bus, BusMessage } from '@runstream/bus';
import type { RunEventRepo } from '@runstream/persistence';
import { vi } from 'vitest';

const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

/** A spawned outbox-worker process. */
export interface WorkerProcess {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
  /** The metrics port, once the process has logged it. */
  metricsPort(): Promise<number>;
  kill(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const live = new Set<WorkerProcess>();
const spawned: WorkerProcess[] = [];

/** The output of every worker spawned since the last call, for a failed test's report. */
export function takeWorkerOutputs(): string[] {
  return spawned.splice(0).map((w) => w.output());
}

export function spawnWorker(env: Record<string, string>): WorkerProcess {
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH, LOG_LEVEL: 'info', RUNSTREAM_OUTBOX_METRICS_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const worker: WorkerProcess = {
    child,
    exited,
    output: () => out,
    async metricsPort() {
      let port = 0;
      await vi.waitUntil(
        () => {
          const m = /"metricsPort":(\d+)/.exec(out);
          if (m) port = Number(m[1]);
          return port > 0;
        },
        { timeout: 15_000, interval: 20 },
      );
      return port;
    },
    async kill(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
  live.add(worker);
  spawned.push(worker);
  void exited.then(() => live.delete(worker));
  return worker;
}

/** Kills every worker a test left running (afterEach). */
export async function killAllWorkers(): Promise<void> {
  await Promise.all([...live].map((w) => w.kill('SIGKILL')));
}

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
      await vi.waitUntil(() => runIds.every((id) => runs.get(id)!.seqs.length >= expected(id)), {
        timeout: timeoutMs,
        interval: 50,
      });
      await Promise.all(runIds.map((id) => runs.get(id)!.queue));
    },
  };
}

export type Collector = ReturnType<typeof createCollector>;
