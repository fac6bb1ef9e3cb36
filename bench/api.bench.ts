// pnpm bench:api: the SSE stream of the built api process.
// 1. Replay of a 100,000-event run through SSE (events/s, time to first event), next to a raw pg
//    keyset read of the same rows in the same run.
// 2. Fan-out: 1,000 and 5,000 SSE clients on one run of one api process, fed by the real outbox
//    worker over the postgres bus: delivery latency (append -> client) p50/p99 and RSS per
//    connection, next to a raw LISTEN/NOTIFY round trip and a bare node:http SSE server holding
//    the same connections.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { fileURLToPath } from 'node:url';

import {
  createDatabase,
  createOutboxWakeup,
  createRunEventRepo,
  createRunRepo,
} from '@runstream/persistence';
import { freePort, waitFor } from '@runstream/testkit';
import pg from 'pg';

import { benchDatabase, median, percentile, printTable, type Row } from './lib.js';

const quick = process.argv.includes('--quick');
const REPLAY_EVENTS = quick ? 20_000 : 100_000;
const ROUNDS = quick ? 1 : 3;
const FANOUTS = quick ? [200, 1000] : [1000, 5000];
const LIVE_EVENTS = 100;
const root = fileURLToPath(new URL('../', import.meta.url));

const bench = await benchDatabase();
const db = createDatabase({ url: bench.url, poolSize: 4, applicationName: 'bench-api' });
const runs = createRunRepo(db);
const events = createRunEventRepo(db);
// Writers wake the outbox worker after each commit, as the run-worker's tracer does.
const wakeup = createOutboxWakeup(db.pool);
const children: ChildProcess[] = [];
// A bench that fails must not leave its api, worker and reference server running.
process.on('exit', () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});
const text = 'x'.repeat(64);
const progress = (line: string) => process.stderr.write(`[bench:api] ${line}\n`);

function startProcess(args: string[], env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, args, {
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  return child;
}

function rssBytes(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Number(/(\d+)/.exec(line ?? '')?.[1] ?? 0) * 1024;
}

async function newRun(): Promise<string> {
  const { run } = await runs.create({
    tenant: 'default',
    graph: 'synthetic',
    input: {},
    firstEvent: { type: 'run.queued', data: { graph: 'synthetic' } },
  });
  return run.id;
}

const apiPort = await freePort();
const api = startProcess([`${root}apps/api/dist/main.js`], {
  DATABASE_URL: bench.url,
  PORT: String(apiPort),
  RUNSTREAM_BUS: 'postgres',
  RUNSTREAM_RATE_LIMIT_MAX: '0',
});
const apiUrl = `http://127.0.0.1:${apiPort}`;
await waitFor(
  'api ready',
  async () => (await fetch(`${apiUrl}/readyz`).catch(() => undefined))?.status === 200,
);

const raw = new pg.Client({ connectionString: bench.url, application_name: 'bench-raw' });
await raw.connect();

// ---- 1. Fan-out (first: the outbox has no backlog, and the api's heap is fresh for the RSS figures)
const outboxWorker = startProcess([`${root}apps/outbox-worker/dist/main.js`], {
  DATABASE_URL: bench.url,
  RUNSTREAM_BUS: 'postgres',
  RUNSTREAM_OUTBOX_METRICS_PORT: '0',
});

// The floor of live delivery on this machine: a NOTIFY received by a LISTENing pg connection.
async function notifyRoundTrip(n: number): Promise<number[]> {
  const listener = new pg.Client({ connectionString: bench.url });
  await listener.connect();
  await listener.query('LISTEN bench_rt');
  const latencies: number[] = [];
  listener.on('notification', (msg) =>
    latencies.push(performance.now() + performance.timeOrigin - Number(msg.payload)),
  );
  for (let i = 0; i < n; i++) {
    await raw.query("SELECT pg_notify('bench_rt', $1)", [
      String(performance.now() + performance.timeOrigin),
    ]);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await waitFor('notifies', () => latencies.length === n);
  await listener.end();
  return latencies;
}

// A reference holder of connections: node:http writing SSE headers and nothing else.
const barePort = await freePort();
const bare = startProcess(
  [
    '-e',
    `require('http').createServer((q, s) => { s.writeHead(200, { 'content-type': 'text/event-stream' }); s.flushHeaders(); s.write(': hi\\n\\n'); }).listen(${barePort}, '127.0.0.1')`,
  ],
  {},
);
await waitFor(
  'bare server',
  async () =>
    await fetch(`http://127.0.0.1:${barePort}/`)
      .then((r) => r.body?.cancel())
      .then(() => true)
      .catch(() => false),
);

interface Client {
  latencies: number[];
  received: number;
  first: Promise<void>;
  done: Promise<void>;
  close(): void;
}

/** An SSE client that only records, for each event, now minus the append time its text starts with. */
function openClient(url: string): Client {
  const latencies: number[] = [];
  let received = 0;
  let firstSeen!: () => void;
  let finished!: () => void;
  const first = new Promise<void>((resolve) => (firstSeen = resolve));
  const done = new Promise<void>((resolve) => (finished = resolve));
  const request = http.get(
    url,
    { headers: { accept: 'text/event-stream' }, agent: false },
    (res) => {
      res.setEncoding('utf8');
      let tail = '';
      res.on('data', (chunk: string) => {
        const now = performance.now() + performance.timeOrigin;
        const text = tail + chunk;
        const frames = text.split('\n\n');
        tail = frames.pop() ?? '';
        for (const frame of frames) {
          if (frame.startsWith(':')) continue;
          received++;
          const t = /"text":"([\d.]+) /.exec(frame);
          if (t) latencies.push(now - Number(t[1]));
        }
        if (received > 0 || text.length > 0) firstSeen();
      });
      res.on('end', () => finished());
      res.on('error', () => finished());
    },
  );
  request.on('error', () => {
    firstSeen();
    finished();
  });
  return {
    latencies,
    get received() {
      return received;
    },
    first,
    done,
    close: () => request.destroy(),
  };
}

const fanoutRows: Row[] = [];
const notifyLatencies = await notifyRoundTrip(200);
// Warm-up, not reported: the first streams pay for JIT, lazy module loads and pool connections,
// which would otherwise land in the first round's RSS per connection.
{
  const run = await newRun();
  const warm = Array.from({ length: 100 }, () => openClient(`${apiUrl}/v1/runs/${run}/events`));
  await Promise.all(warm.map((c) => c.first));
  await events.append(run, [{ type: 'run.completed', data: { output: null } }]);
  wakeup.notify();
  await Promise.all(warm.map((c) => c.done));
  const bareWarm = Array.from({ length: 100 }, () => openClient(`http://127.0.0.1:${barePort}/`));
  await Promise.all(bareWarm.map((c) => c.first));
  for (const c of bareWarm) c.close();
}
for (const n of FANOUTS) {
  progress(`fan-out to ${n} clients`);
  const run = await newRun();
  const rssBefore = rssBytes(api.pid!);
  const clients = Array.from({ length: n }, () => openClient(`${apiUrl}/v1/runs/${run}/events`));
  await Promise.all(clients.map((c) => c.first));
  await waitFor(`${n} clients on seq 1`, () => clients.every((c) => c.received >= 1));
  const rssPerConnection = (rssBytes(api.pid!) - rssBefore) / n;

  const bareBefore = rssBytes(bare.pid!);
  const bareClients = Array.from({ length: n }, () => openClient(`http://127.0.0.1:${barePort}/`));
  await Promise.all(bareClients.map((c) => c.first));
  const bareRssPerConnection = (rssBytes(bare.pid!) - bareBefore) / n;
  for (const c of bareClients) c.close();

  // Live events at a steady 100/s, each stamped with its append time.
  for (let i = 0; i < LIVE_EVENTS; i++) {
    await events.append(run, [
      {
        type: 'text.delta',
        data: { text: `${performance.now() + performance.timeOrigin} ${text}` },
      },
    ]);
    wakeup.notify();
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await events.append(run, [{ type: 'run.completed', data: { output: null } }]);
  wakeup.notify();
  await Promise.all(clients.map((c) => c.done));
  const incomplete = clients.filter((c) => c.received !== LIVE_EVENTS + 2).length;
  if (incomplete > 0) throw new Error(`${incomplete} of ${n} clients missed events`);
  const latencies = clients.flatMap((c) => c.latencies);
  fanoutRows.push(
    {
      name: `${n} clients: delivery p50 (append -> client)`,
      value: percentile(latencies, 50),
      unit: 'ms',
      reference: { name: 'raw NOTIFY round trip p50', value: percentile(notifyLatencies, 50) },
    },
    {
      name: `${n} clients: delivery p99`,
      value: percentile(latencies, 99),
      unit: 'ms',
      reference: { name: 'raw NOTIFY round trip p99', value: percentile(notifyLatencies, 99) },
    },
    {
      name: `${n} clients: api RSS per connection`,
      value: rssPerConnection / 1024,
      unit: 'KiB',
      reference: { name: 'bare node:http SSE server', value: bareRssPerConnection / 1024 },
    },
  );
}
printTable(
  `api: fan-out (${LIVE_EVENTS} live events at 100/s through the outbox worker and the postgres bus)`,
  fanoutRows,
);

// ---- 2. Replay
// The replay run is not live: stop the outbox worker so that publishing its 100,000 rows does not
// compete with the measurement.
outboxWorker.kill('SIGTERM');
await new Promise((resolve) => outboxWorker.once('exit', resolve));
progress(`seeding a ${REPLAY_EVENTS}-event run`);
const replayRun = await newRun();
for (let i = 0; i < REPLAY_EVENTS; i += 1000) {
  await events.append(
    replayRun,
    Array.from({ length: Math.min(1000, REPLAY_EVENTS - i) }, () => ({
      type: 'text.delta' as const,
      data: { text },
    })),
  );
}
await events.append(replayRun, [{ type: 'run.completed', data: { output: null } }]);
// The api replays published events (its default): mark the run published, as the stopped outbox
// worker's drain would have.
await db.pool.query('UPDATE runs SET published_seq = next_seq - 1 WHERE id = $1', [replayRun]);
const replayTotal = REPLAY_EVENTS + 2;

/** Streams the whole run over SSE; counts frames by their `id:` lines. */
function sseReplay(): Promise<{ seconds: number; firstMs: number; events: number }> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    let first = 0;
    let count = 0;
    let tail = '';
    http
      .get(
        `${apiUrl}/v1/runs/${replayRun}/events`,
        { headers: { accept: 'text/event-stream' }, agent: false },
        (res) => {
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            const text = tail + chunk;
            let at = text.indexOf('\nid: ');
            if (tail === '' && text.startsWith('id: ')) count++;
            while (at >= 0) {
              count++;
              at = text.indexOf('\nid: ', at + 1);
            }
            tail = text.slice(-4);
            if (count > 0 && first === 0) first = performance.now() - start;
          });
          res.on('end', () =>
            resolve({ seconds: (performance.now() - start) / 1000, firstMs: first, events: count }),
          );
        },
      )
      .on('error', reject);
  });
}

/**
 * The same rows, read by keyset pages of 1,000 with raw pg and decoded to JSON (what the api
 * reads), prepared once as the repository prepares its read.
 */
async function rawReplay(
  client: pg.Client,
): Promise<{ seconds: number; firstMs: number; events: number }> {
  const start = performance.now();
  let first = 0;
  let count = 0;
  for (let from = 1; ;) {
    const { rows } = await client.query<{ seq: number }>({
      name: 'raw_replay_page',
      text: 'SELECT run_id, seq, type, data, created_at FROM run_events WHERE run_id = $1 AND seq >= $2 ORDER BY seq LIMIT 1000',
      values: [replayRun, from],
    });
    if (rows.length === 0) break;
    if (first === 0) first = performance.now() - start;
    count += rows.length;
    from = rows[rows.length - 1]!.seq + 1;
  }
  return { seconds: (performance.now() - start) / 1000, firstMs: first, events: count };
}

const sseSamples: { seconds: number; firstMs: number; events: number }[] = [];
const rawSamples: { seconds: number; firstMs: number; events: number }[] = [];
for (let round = 0; round < ROUNDS; round++) {
  sseSamples.push(await sseReplay());
  rawSamples.push(await rawReplay(raw));
}
for (const s of [...sseSamples, ...rawSamples]) {
  if (s.events !== replayTotal)
    throw new Error(`replay read ${s.events} events, expected ${replayTotal}`);
}
const replayRows: Row[] = [
  {
    name: `SSE replay of a ${REPLAY_EVENTS.toLocaleString('en-US')}-event run`,
    value: median(sseSamples.map((s) => s.events / s.seconds)),
    unit: 'events/s',
    reference: {
      name: 'raw pg keyset read, pages of 1,000',
      value: median(rawSamples.map((s) => s.events / s.seconds)),
    },
  },
  {
    name: 'SSE time to first event',
    value: median(sseSamples.map((s) => s.firstMs)),
    unit: 'ms',
    reference: { name: 'raw pg first page', value: median(rawSamples.map((s) => s.firstMs)) },
  },
];
printTable('api: replay through SSE', replayRows);

await raw.end();
progress('stopping');
for (const child of children) child.kill('SIGTERM');
await Promise.all(
  children.map(
    (c) =>
      new Promise((resolve) => (c.exitCode === null ? c.once('exit', resolve) : resolve(null))),
  ),
);
await db.close();
await bench.close();
