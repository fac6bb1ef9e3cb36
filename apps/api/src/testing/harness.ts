import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';

import { type Bus, createBus } from '@runstream/bus';
import { createGraphCatalog } from '@runstream/graph-catalog';
import { registerBuiltInGraphs } from '@runstream/graphs/testing';
import type { OutboxWorkerOptions } from '@runstream/outbox';
import { type RunningOutbox, startOutboxLoop } from '@runstream/outbox/testing';
import { createGraphRegistryRepo, loadBusSigningKey } from '@runstream/persistence';
import {
  type Repos,
  type TestDatabaseWithClient,
  createRepos,
  openTestDatabase,
} from '@runstream/persistence/testing';
import type { FastifyInstance } from 'fastify';

import { type AppConfig, buildApp } from '../app.js';

export interface TestApi {
  app: FastifyInstance;
  /** `http://127.0.0.1:<port>` of the listening server. */
  url: string;
  bus: Bus;
  close(): Promise<void>;
}

/** The api's view of the test database's graph registry (no refresh loop: unknown names are re-read). */
export function testCatalog(testDb: TestDatabaseWithClient) {
  return createGraphCatalog({ registry: createGraphRegistryRepo(testDb.db) });
}

/** Builds the api on a test database and listens on a free loopback port. */
export async function startTestApi(
  testDb: TestDatabaseWithClient,
  config: Partial<AppConfig> = {},
  bus?: Bus,
): Promise<TestApi> {
  const ownBus =
    bus ??
    (await createBus(
      { kind: 'postgres' },
      {
        databaseUrl: testDb.url,
        name: 'api-test',
        signingKey: await loadBusSigningKey(testDb.db.pool),
      },
    ));
  const app = await buildApp({
    db: testDb.db,
    bus: ownBus,
    graphs: testCatalog(testDb),
    config: { apiKeys: [], rateLimit: { max: 0, windowMs: 1000 }, ...config },
  });
  // A test opens up to a thousand connections at once (node's default backlog is 511): on a loaded
  // machine the accept queue would overflow and reset some of them before the server sees them.
  await app.listen({ host: '127.0.0.1', port: 0, backlog: 2048 });
  const { port } = app.server.address() as AddressInfo;
  return {
    app,
    url: `http://127.0.0.1:${port}`,
    bus: ownBus,
    async close() {
      await app.close();
      if (!bus) await ownBus.close();
    },
  };
}

export interface StreamFixture {
  testDb: TestDatabaseWithClient;
  repos: Repos;
  /**
   * Starts the production outbox loop on `bus` in this process (to inject faults, pass a bus
   * wrapped with `withMessageFaults` of `@runstream/bus/testing`).
   */
  outbox(bus: Bus, options?: OutboxWorkerOptions): RunningOutbox;
  /** Stops every outbox loop started so far (after each test, so that none publishes into the next). */
  stopOutboxes(): Promise<void>;
  close(): Promise<void>;
}

/**
 * One database for a test file, with the built-in graphs registered as a stock run-worker registers
 * them, and outbox loops that are all stopped at close.
 */
export async function openFixture(): Promise<StreamFixture> {
  const testDb = await openTestDatabase({ poolSize: 20 });
  await registerBuiltInGraphs(createGraphRegistryRepo(testDb.db));
  const loops: RunningOutbox[] = [];
  const stopOutboxes = async () => {
    for (const loop of loops.splice(0)) await loop.stop();
  };
  return {
    testDb,
    repos: createRepos(testDb.db),
    outbox(bus, options) {
      const loop = startOutboxLoop({ db: testDb.db, bus }, options);
      loops.push(loop);
      return loop;
    },
    stopOutboxes,
    async close() {
      await stopOutboxes();
      await testDb.drop();
    },
  };
}

/** Appends `n` plain events to a run in batches, then (unless told not to) its terminal event. */
export async function appendEvents(
  repos: Repos,
  runId: string,
  n: number,
  options: { batch?: number; terminal?: boolean; payloadBytes?: number } = {},
): Promise<void> {
  const batch = options.batch ?? 50;
  const pad = options.payloadBytes ? 'x'.repeat(options.payloadBytes) : undefined;
  for (let i = 0; i < n; i += batch) {
    const size = Math.min(batch, n - i);
    await repos.events.append(
      runId,
      Array.from({ length: size }, (_, k) => ({
        type: 'synthetic.tick' as const,
        data: { index: i + k + 1, ...(pad ? { payload: pad } : {}) },
      })),
    );
  }
  if (options.terminal !== false)
    await repos.events.append(runId, [{ type: 'run.completed', data: { output: null } }]);
}

/** 1..n */
export function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
}

/** What a raw HTTP/1.1 exchange gave: the bytes the server sent, and whether it closed the socket. */
export interface RawExchange {
  status: number | undefined;
  head: string;
  body: string;
  /** The server closed the connection (FIN or reset) before the deadline. */
  closedByServer: boolean;
}

/**
 * Sends raw bytes to a server and collects what comes back until the server closes the socket or
 * `untilMs` passes. For what a real client library would refuse to send: malformed heads, NUL
 * bytes, half-sent requests.
 */
export function rawHttp(
  url: string,
  payload: string | Buffer,
  options: { untilMs?: number } = {},
): Promise<RawExchange> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    let closedByServer = false;
    const finish = (): void => {
      clearTimeout(timer);
      socket.destroy();
      const text = Buffer.concat(chunks).toString('utf8');
      const split = text.indexOf('\r\n\r\n');
      const head = split < 0 ? text : text.slice(0, split);
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1];
      resolve({
        status: status === undefined ? undefined : Number(status),
        head,
        body: split < 0 ? '' : text.slice(split + 4),
        closedByServer,
      });
    };
    const timer = setTimeout(finish, options.untilMs ?? 10_000);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      closedByServer = true;
      finish();
    });
    socket.write(payload);
  });
}
