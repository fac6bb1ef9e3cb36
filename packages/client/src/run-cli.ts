import { parseArgs } from 'node:util';

import type { RunEventEnvelope } from '@runstream/events';

import { type RunstreamClient, createRunstreamClient } from './client.js';
import { RunstreamError } from './errors.js';
import { type Run, RunStatusSchema } from './run.js';

/** Exit codes of the `runstream` CLI. */
export const EXIT = {
  ok: 0,
  /** The api refused the request, or could not be reached. */
  error: 1,
  /** Wrong command line: unknown command, missing argument, bad option value. */
  usage: 2,
  /** `tail` saw the run end in `failed` or `cancelled`. */
  runNotSucceeded: 3,
  /** Interrupted (Ctrl-C), as shells report 128 + SIGINT. */
  interrupted: 130,
} as const;

export const USAGE = `Usage: runstream <command> [options]

Commands:
  runs create <graph> [--input <json>] [--idempotency-key <key>]   start a run; prints it
  runs list [--status <s>] [--graph <g>] [--limit <n>] [--cursor <c>]
  runs get <runId>                                                print a run
  runs cancel <runId>                                             ask a run to stop
  tail <runId> [--from-seq <n>]                                   print events as they come, until the run ends

Options:
  --json        machine-readable output (one JSON document, or one event per line for tail)
  -h, --help    this help

Environment:
  RUNSTREAM_URL       api base URL (default http://127.0.0.1:3000)
  RUNSTREAM_API_KEY   sent as a Bearer token when set

Exit codes: 0 ok, 1 api or network error, 2 usage error, 3 tail ended with a failed or cancelled run,
130 interrupted.`;

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Record<string, string | undefined>;
  /** Aborted on Ctrl-C: a running tail stops and the CLI exits 130. */
  signal?: AbortSignal;
  /** The client to use; built from the environment when absent. */
  client?: RunstreamClient;
}

class UsageError extends Error {}

/** Runs one CLI command and returns its exit code; never calls process.exit itself. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    io.stderr(`runstream: ${error instanceof Error ? error.message : String(error)}\n${USAGE}\n`);
    return EXIT.usage;
  }
  const { values, positionals } = parsed;
  if (values.help || positionals.length === 0 || positionals[0] === 'help') {
    (positionals.length === 0 && !values.help ? io.stderr : io.stdout)(`${USAGE}\n`);
    return positionals.length === 0 && !values.help ? EXIT.usage : EXIT.ok;
  }
  const client =
    io.client ??
    createRunstreamClient({
      baseUrl: io.env.RUNSTREAM_URL || undefined,
      apiKey: io.env.RUNSTREAM_API_KEY || undefined,
    });
  const print = (value: unknown): void => io.stdout(`${JSON.stringify(value, null, 2)}\n`);
  try {
    const [command, sub, arg] = positionals;
    if (command === 'runs' && sub === 'create') {
      const graph = required(arg, 'runs create <graph>');
      const { run, created } = await client.create(
        {
          graph,
          input: jsonObject(values.input, '--input'),
          idempotencyKey: values['idempotency-key'],
        },
        { signal: io.signal },
      );
      if (values.json) print(run);
      else
        io.stdout(
          `${created ? 'created' : 'existing'} run ${run.id} (${run.graph}, ${run.status})\n`,
        );
      return EXIT.ok;
    }
    if (command === 'runs' && sub === 'list') {
      const status =
        values.status === undefined ? undefined : RunStatusSchema.safeParse(values.status);
      if (status && !status.success)
        throw new UsageError(`--status: must be one of ${RunStatusSchema.options.join(', ')}`);
      const page = await client.list(
        {
          status: status?.data,
          graph: values.graph,
          limit: positiveInt(values.limit, '--limit'),
          cursor: values.cursor,
        },
        { signal: io.signal },
      );
      if (values.json) print(page);
      else io.stdout(formatRuns(page.runs, page.nextCursor));
      return EXIT.ok;
    }
    if (command === 'runs' && (sub === 'get' || sub === 'cancel')) {
      const runId = required(arg, `runs ${sub} <runId>`);
      const run =
        sub === 'get'
          ? await client.get(runId, { signal: io.signal })
          : await client.cancel(runId, { signal: io.signal });
      if (values.json || sub === 'get') print(run);
      else io.stdout(`cancel requested for run ${run.id} (${run.status})\n`);
      return EXIT.ok;
    }
    if (command === 'tail') {
      const runId = required(sub, 'tail <runId>');
      return await tail(client, runId, values, io);
    }
    throw new UsageError(`unknown command: ${positionals.join(' ')}`);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`runstream: ${error.message}\n${USAGE}\n`);
      return EXIT.usage;
    }
    if (io.signal?.aborted) return EXIT.interrupted;
    if (error instanceof RunstreamError) {
      const field = fieldOf(error.details);
      io.stderr(
        `runstream: ${error.message}${field ? ` (${field})` : ''} [${error.code}${error.status ? ` ${error.status}` : ''}]\n`,
      );
      return EXIT.error;
    }
    io.stderr(`runstream: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT.error;
  }
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      input: { type: 'string' },
      'idempotency-key': { type: 'string' },
      status: { type: 'string' },
      graph: { type: 'string' },
      limit: { type: 'string' },
      cursor: { type: 'string' },
      'from-seq': { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
}

type Values = ReturnType<typeof parse>['values'];

async function tail(
  client: RunstreamClient,
  runId: string,
  values: Values,
  io: CliIo,
): Promise<number> {
  const fromSeq = positiveInt(values['from-seq'], '--from-seq');
  let last: RunEventEnvelope | undefined;
  for await (const event of client.events(runId, {
    fromSeq,
    signal: io.signal,
    onReconnect: ({ lastSeq, delayMs, error }) => {
      const why = error instanceof Error ? error.message : String(error);
      io.stderr(
        `runstream: stream dropped (${why}); resuming after seq ${lastSeq} in ${delayMs} ms\n`,
      );
    },
  })) {
    last = event;
    io.stdout(values.json ? `${JSON.stringify(event)}\n` : formatEvent(event));
  }
  return last?.type === 'run.completed' || last === undefined ? EXIT.ok : EXIT.runNotSucceeded;
}

/** One readable line per event: seq, time, type, and what matters in its data. */
export function formatEvent(event: RunEventEnvelope): string {
  const time = event.at.slice(11, 23);
  const data = event.data;
  let detail: string;
  if (event.type === 'text.delta' && typeof data.text === 'string')
    detail = JSON.stringify(data.text);
  else if (Object.keys(data).length === 0) detail = '';
  else detail = JSON.stringify(data);
  return (
    `${String(event.seq).padStart(5)}  ${time}  ${event.type.padEnd(15)} ${detail}`.trimEnd() + '\n'
  );
}

function formatRuns(runs: readonly Run[], nextCursor: string | null): string {
  if (runs.length === 0) return 'no runs\n';
  const rows = runs.map((r) => [r.id, r.status, r.graph, String(r.lastSeq), r.createdAt]);
  const header = ['ID', 'STATUS', 'GRAPH', 'EVENTS', 'CREATED'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  const more = nextCursor ? `more: runstream runs list --cursor ${nextCursor}\n` : '';
  return `${[line(header), ...rows.map(line)].join('\n')}\n${more}`;
}

function required(value: string | undefined, what: string): string {
  if (!value) throw new UsageError(`missing argument: ${what}`);
  return value;
}

function positiveInt(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`${name}: must be a whole number of 1 or more`);
  return n;
}

function jsonObject(value: string | undefined, name: string): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new UsageError(`${name}: not valid JSON`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new UsageError(`${name}: must be a JSON object, e.g. '{"events": 10}'`);
  }
  return parsed as Record<string, unknown>;
}

/** The api names the field at fault in `details` for 400s; show it when it does. */
function fieldOf(details: unknown): string | undefined {
  if (!details || typeof details !== 'object') return undefined;
  const d = details as { field?: unknown; fields?: unknown };
  if (typeof d.field === 'string') return d.field;
  if (Array.isArray(d.fields)) return d.fields.join(', ');
  return undefined;
}
