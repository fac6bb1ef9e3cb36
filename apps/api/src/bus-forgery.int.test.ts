import { connect as natsConnect } from '@nats-io/transport-node';
import { type Bus, createBus } from '@runstream/bus';
import { type TestNatsServer, natsForTests, startNatsServer } from '@runstream/testkit';
import { loadBusSigningKey } from '@runstream/persistence';
import { seedRun } from '@runstream/persistence/testing';
import { openSse } from '@runstream/stream/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  type StreamFixture,
  type TestApi,
  appendEvents,
  openFixture,
  range,
  startTestApi,
} from './testing/harness.js';

const withNats = await natsForTests('bus message authentication (nats)');

// End to end through the api on the NATS bus: the broker is shared infrastructure, and any of
// its clients can publish on a run's subject. Only the committed event may ever reach a client.

let fx: StreamFixture;
let nats: TestNatsServer;
let bus: Bus;
let api: TestApi;

beforeAll(async () => {
  fx = await openFixture();
  nats = await startNatsServer();
  // What the api's and the outbox worker's main.ts do: the key comes from the database.
  const signingKey = await loadBusSigningKey(fx.testDb.db.pool);
  bus = await createBus(
    { kind: 'nats', url: nats.url },
    { databaseUrl: fx.testDb.url, name: 'forgery-test', signingKey },
  );
  api = await startTestApi(fx.testDb, { heartbeatMs: 200 }, bus);
});
afterAll(async () => {
  await api?.close();
  await bus?.close();
  await nats?.close();
  await fx?.close();
});

/** A client of the broker with no credentials and no key, as in the security review. */
async function publishRaw(subject: string, payload: string): Promise<void> {
  const nc = await natsConnect({ servers: nats.url });
  try {
    nc.publish(subject, payload);
    await nc.flush();
  } finally {
    await nc.close();
  }
}

describe.runIf(withNats)('bus message authentication', () => {
  it('security row 102: a forged run.completed with seq = last + 1 on a live stream’s subject never reaches the client, and the stream goes on with the real events', async () => {
    fx.outbox(bus);
    const run = await seedRun(fx.repos);
    await appendEvents(fx.repos, run.id, 3, { terminal: false });
    const client = openSse(`${api.url}/v1/runs/${run.id}/events`);
    await client.waitFor((events) => events.length === 4);

    const at = new Date().toISOString();
    const forged = (seq: number) => ({
      source: 'outbox',
      runId: run.id,
      seq,
      event: { runId: run.id, seq, type: 'run.completed', at, data: { output: { forged: true } } },
    });
    await publishRaw(`runstream.runs.${run.id}`, JSON.stringify(forged(5)));
    // A signature that is not the deployment's is no better.
    await publishRaw(
      `runstream.runs.${run.id}`,
      `${JSON.stringify(forged(5)).slice(0, -1)},"sig":"${'A'.repeat(43)}"}`,
    );

    await appendEvents(fx.repos, run.id, 3);
    await client.closed;
    expect(client.events.map((e) => e.seq)).toEqual(range(1, 8));
    expect(client.events.filter((e) => JSON.stringify(e.data).includes('forged'))).toEqual([]);
    expect(client.events.at(-1)).toMatchObject({ seq: 8, type: 'run.completed', data: {} });
  });
});
