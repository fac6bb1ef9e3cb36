import { randomBytes, randomUUID } from 'node:crypto';

import { type TestNatsServer, natsForTests, startNatsServer } from '@runstream/testkit';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import type { Bus, BusLogger, BusMessage } from './bus.js';
import { createNatsBus } from './nats-bus.js';

const withNats = await natsForTests('NATS credentials and token');

const PASSWORD = 'pa55-w0rd-never-logged';
const TOKEN = 't0ken-never-logged';

/** A logger that keeps every line, to prove that no secret is ever in one. */
function recordingLogger() {
  const lines: string[] = [];
  const record = (obj: Record<string, unknown>, msg: string) => {
    const err = obj.err instanceof Error ? `${obj.err.message} ${String(obj.err.cause)}` : '';
    lines.push(`${JSON.stringify({ ...obj, err })} ${msg}`);
  };
  const logger: BusLogger = { debug: record, info: record, warn: record };
  return { logger, lines };
}

const signingKey = randomBytes(32);
const message = (runId: string, seq: number): BusMessage => ({
  source: 'outbox',
  runId,
  seq,
  event: { runId, seq, type: 'text.delta', at: new Date().toISOString(), data: {} },
});

async function roundTrip(bus: Bus): Promise<void> {
  const runId = randomUUID();
  const got: number[] = [];
  const sub = await bus.subscribe(runId, {
    onMessage: (m) => void got.push(m.seq),
    onResync: () => undefined,
  });
  await bus.publish([message(runId, 1)]);
  await vi.waitUntil(() => got.length === 1, { timeout: 5000, interval: 20 });
  await sub.close();
}

describe.runIf(withNats)('NATS credentials (contract "Live bus")', () => {
  let server: TestNatsServer;
  beforeAll(async () => {
    server = await startNatsServer({ args: ['--user', 'runstream', '--pass', PASSWORD] });
  });
  afterAll(async () => server?.close());

  it('connects with the right user and password, and no log line ever holds the password', async () => {
    const { logger, lines } = recordingLogger();
    const bus = await createNatsBus({
      url: server.url,
      credentials: { user: 'runstream', pass: PASSWORD },
      logger,
      signingKey,
    });
    try {
      await roundTrip(bus);
      // A restart makes the adapter log its disconnect and reconnect (and re-authenticate).
      await server.stop('SIGKILL');
      await server.start();
      await vi.waitUntil(() => lines.some((l) => l.includes('reconnected')), {
        timeout: 20_000,
        interval: 50,
      });
      await roundTrip(bus);
    } finally {
      await bus.close();
    }
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.filter((l) => l.includes(PASSWORD))).toEqual([]);
  });

  it('refuses to start with a wrong password or none, naming the server but never the password', async () => {
    for (const credentials of [{ user: 'runstream', pass: `${PASSWORD}-wrong` }, undefined]) {
      const failure = await createNatsBus({ url: server.url, credentials }).then(
        () => undefined,
        (error: unknown) => error as Error & { code: string },
      );
      expect(failure).toMatchObject({ code: 'BUS_UNAVAILABLE' });
      expect(failure!.message).toContain(server.url);
      expect(failure!.message).toMatch(/refused the credentials/);
      expect(failure!.message).not.toContain(PASSWORD);
    }
  });
});

describe.runIf(withNats)('NATS token', () => {
  let server: TestNatsServer;
  beforeAll(async () => {
    server = await startNatsServer({ args: ['--auth', TOKEN] });
  });
  afterAll(async () => server?.close());

  it('connects with the right token and refuses a wrong one', async () => {
    const bus = await createNatsBus({ url: server.url, credentials: { token: TOKEN }, signingKey });
    try {
      await roundTrip(bus);
    } finally {
      await bus.close();
    }
    await expect(
      createNatsBus({ url: server.url, credentials: { token: `${TOKEN}x` } }),
    ).rejects.toThrow(/refused the credentials/);
  });
});
