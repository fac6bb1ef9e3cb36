import { type ProbeResult, probeRun } from './sse-probe.js';
import { pause } from '@runstream/testkit';

export interface LiveCanaryOptions {
  /** Starts one canary run (a long synthetic run with events `intervalMs` apart) and returns its id. */
  createRun(input: Record<string, unknown>): Promise<string>;
  /** Asks the api to cancel a canary run (it ends with run.cancelled). */
  cancelRun(runId: string): Promise<void>;
  apiUrl: string;
  apiKey?: string;
  signal: AbortSignal;
  /**
   * Time between two canary events.
   * @default 100
   */
  intervalMs?: number;
  /**
   * An event is live when it reaches the stream within this long of its commit (its `at`). Less
   * than the SSE heartbeat: a stream fed only by the heartbeat's database check (a dead bus)
   * receives events in bursts, some of them a heartbeat late.
   * @default 500
   */
  liveLatencyMs?: number;
  /**
   * Live means every canary event committed over this long arrived live: at least the longest
   * time between two heartbeat checks (1.5 heartbeats), so that such a window holds an event that
   * waited for a check.
   * @default 1500
   */
  confirmMs?: number;
}

/** One canary event as its stream received it. */
export interface CanarySample {
  committedAt: number;
  arrivedAt: number;
}

/**
 * From the samples, how long after `healedAt` delivery was live: the arrival of the first event
 * committed after the heal such that every event committed in the `confirmMs` from it arrived
 * within `liveLatencyMs` of its commit. Undefined while the samples do not prove it yet.
 */
export function healToLiveOf(
  samples: readonly CanarySample[],
  healedAt: number,
  limits: { intervalMs: number; liveLatencyMs: number; confirmMs: number },
): number | undefined {
  const { intervalMs, liveLatencyMs, confirmMs } = limits;
  const after = samples
    .filter((s) => s.committedAt >= healedAt)
    .sort((a, b) => a.committedAt - b.committedAt);
  const last = after.at(-1);
  for (let i = 0; i < after.length; i++) {
    const from = after[i]!;
    // Only a window the stream has gone past is complete: the stream delivers in order.
    if (!last || last.committedAt <= from.committedAt + confirmMs) return undefined;
    let live = true;
    let n = 0;
    for (
      let j = i;
      j < after.length && after[j]!.committedAt <= from.committedAt + confirmMs;
      j++
    ) {
      n++;
      if (after[j]!.arrivedAt - after[j]!.committedAt > liveLatencyMs) live = false;
    }
    // A window with few events says little (the canary was starved of its worker, say).
    if (live && n >= confirmMs / intervalMs / 2) return from.arrivedAt - healedAt;
  }
  return undefined;
}

export interface LiveCanary {
  /** Every canary run started so far (a canary that ended early is replaced). */
  readonly runIds: readonly string[];
  /**
   * How long after `healedAt` live delivery was back: the arrival of the first event committed
   * after the heal that opens `confirmMs` of live events. Waits at most `boundMs` past the heal
   * (plus the confirmation) and resolves undefined if it was not live by then.
   */
  healToLive(healedAt: number, boundMs: number): Promise<number | undefined>;
  /**
   * What the canary saw after `healedAt`, for a failure message: how many events arrived, their
   * latency (p50, max) and the longest silence between two arrivals.
   */
  describeSince(healedAt: number): string;
  /** Cancels the canary runs and returns what their probes received. */
  stop(): Promise<ProbeResult[]>;
}

/**
 * A run that writes an event every `intervalMs` for as long as the scenario lasts, followed by a
 * wire probe that stays connected (it reconnects only when the server cuts it). It answers the
 * question the invariants cannot: after a fault heals, when do events reach an open stream live
 * again, through the bus, rather than only through the database?
 */
export async function startLiveCanary(options: LiveCanaryOptions): Promise<LiveCanary> {
  const intervalMs = options.intervalMs ?? 100;
  const liveLatencyMs = options.liveLatencyMs ?? 500;
  const confirmMs = options.confirmMs ?? 1500;
  const runIds: string[] = [];
  const probes: Promise<ProbeResult>[] = [];
  const samples: CanarySample[] = [];
  let stopped = false;

  // A canary whose run ended early (its worker was killed, say) is replaced at once, so that
  // events keep flowing through whatever the scenario does; a canary that cannot be started now
  // (the api is down) is tried again.
  const follow = async (): Promise<void> => {
    const runId = await options.createRun({ events: 100_000, delayMs: intervalMs });
    runIds.push(runId);
    // Created while the canary was being stopped: it is not followed, only ended.
    if (stopped) return void (await options.cancelRun(runId).catch(() => undefined));
    const probe = probeRun({
      apiUrl: options.apiUrl,
      apiKey: options.apiKey,
      runId,
      signal: options.signal,
      onEvent: (event, arrivedAt) =>
        void samples.push({ committedAt: Date.parse(event.at), arrivedAt }),
    });
    probes.push(probe);
    void probe.then(() => (stopped || options.signal.aborted ? undefined : replace()));
  };
  const replace = async (): Promise<void> => {
    while (!stopped && !options.signal.aborted) {
      try {
        return await follow();
      } catch {
        await pause(intervalMs * 5, options.signal);
      }
    }
  };
  await follow();

  const measure = (healedAt: number): number | undefined =>
    healToLiveOf(samples, healedAt, { intervalMs, liveLatencyMs, confirmMs });

  return {
    runIds,
    async healToLive(healedAt, boundMs) {
      const deadline = healedAt + boundMs + confirmMs + liveLatencyMs;
      for (;;) {
        const ms = measure(healedAt);
        if (ms !== undefined) return ms <= boundMs ? ms : undefined;
        if (Date.now() > deadline || options.signal.aborted) return undefined;
        await pause(intervalMs, options.signal);
      }
    },
    describeSince(healedAt) {
      const after = samples.filter((s) => s.committedAt >= healedAt);
      if (after.length === 0) return 'no canary event committed after the heal reached the stream';
      const latencies = after.map((s) => s.arrivedAt - s.committedAt).sort((a, b) => a - b);
      const arrivals = after.map((s) => s.arrivedAt).sort((a, b) => a - b);
      let silence = arrivals[0]! - healedAt;
      for (let i = 1; i < arrivals.length; i++)
        silence = Math.max(silence, arrivals[i]! - arrivals[i - 1]!);
      const ms = (n: number): string => `${Math.round(n)} ms`;
      return (
        `${after.length} canary events after the heal, latency p50 ${ms(latencies[Math.floor(latencies.length / 2)]!)}, ` +
        `max ${ms(latencies.at(-1)!)}, longest silence ${ms(silence)}, last ${((arrivals.at(-1)! - healedAt) / 1000).toFixed(1)} s after the heal`
      );
    },
    async stop() {
      stopped = true;
      await Promise.all(runIds.map((id) => options.cancelRun(id).catch(() => undefined)));
      return Promise.all(probes);
    },
  };
}
