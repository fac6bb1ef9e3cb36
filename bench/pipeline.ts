// What the pipeline benchmarks (bench:latency, bench:e2e) share: creating runs through the api,
// following each with an SSE client, reading seqs back, and the bus alone as a reference.
import { randomBytes } from 'node:crypto';

import { type Bus, createBus } from '@runstream/bus';
import { type Cluster, now } from '@runstream/faults/harness';
import { pause } from '@runstream/testkit';
import pg from 'pg';

/** Creates one synthetic run through `POST /v1/runs`; its id. */
export async function createRun(
  cluster: Cluster,
  input: Record<string, unknown>,
  apiKey?: string,
): Promise<string> {
  const response = await fetch(`${cluster.apiUrl}/v1/runs`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}),
    },
    body: JSON.stringify({ graph: 'synthetic', input }),
  });
  if (response.status !== 201)
    throw new Error(`POST /v1/runs: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { id: string }).id;
}

/** Each run's last seq in the database. */
export async function lastSeqs(url: string, runIds: string[]): Promise<Map<string, number>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ id: string; last: number }>(
      'SELECT id, next_seq - 1 AS last FROM runs WHERE id = ANY($1::uuid[])',
      [runIds],
    );
    return new Map(rows.map((r) => [r.id, r.last]));
  } finally {
    await client.end();
  }
}

/**
 * The bus alone: the product's adapter publishing `rate` messages/s for `seconds` over `runs` runs,
 * one subscription each; publish -> subscriber latencies (ms). The floor the pipeline adds to.
 */
export async function measureBus(
  cluster: Cluster,
  runs: number,
  rate: number,
  seconds: number,
): Promise<number[]> {
  const config = cluster.nats
    ? ({ kind: 'nats', url: cluster.nats.url } as const)
    : ({ kind: 'postgres' } as const);
  // Signed and verified like the product's (any shared key will do for the bus alone).
  const signingKey = randomBytes(32);
  const open = (name: string): Promise<Bus> =>
    createBus(config, { databaseUrl: cluster.databaseUrl, name, signingKey });
  const publisher = await open('bench-reference-publisher');
  const subscriber = await open('bench-reference-subscriber');
  const latencies: number[] = [];
  const runIds = Array.from(
    { length: runs },
    (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
  );
  const subs = await Promise.all(
    runIds.map((runId) =>
      subscriber.subscribe(runId, {
        onMessage: (message) => void latencies.push(now() - Date.parse(message.event!.at)),
        onResync: () => undefined,
      }),
    ),
  );
  const tickMs = 10;
  const perTick = Math.max(1, Math.round((rate * tickMs) / 1000));
  const ticks = (seconds * 1000) / tickMs;
  let seq = 0;
  const start = now();
  for (let tick = 0; tick < ticks; tick++) {
    const batch = Array.from({ length: perTick }, () => {
      seq++;
      const runId = runIds[seq % runs]!;
      const at = new Date().toISOString();
      return {
        source: 'outbox' as const,
        runId,
        seq,
        event: { runId, seq, type: 'synthetic.tick', at, data: { index: seq } },
      };
    });
    await publisher.publish(batch);
    await pause(Math.max(0, start + (tick + 1) * tickMs - now()));
  }
  await pause(500);
  await Promise.all(subs.map((s) => s.close()));
  await subscriber.close();
  await publisher.close();
  return latencies;
}
