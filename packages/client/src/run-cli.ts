import { parseArgs } from 'node:util';

import { type ListRunsQuery, type Run, type RunStatus, RunStatusSchema } from '@runstream/contract';
import type { ReceivedRunEvent } from '@runstream/events';

import manifest from '../package.json' with { type: 'json' };
import { type RunstreamClient, createRunstreamClient } from './client.js';
import { RunstreamError } from './errors.js';
import { findStartUrl } from './find-start-url.js';

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

/** Where the CLI sends requests when neither RUNSTREAM_URL nor a running `pnpm start` says. */
export const DEFAULT_URL = 'http://127.0.0.1:3000';

const USAGE = `Usage: runstream <command> [options]

Commands:
  runs create <graph>   start a run
  runs list             list runs, newest first
  runs get <runId>      print a run
  runs cancel <runId>   ask a run to stop
  tail <runId>          print a run's events as they come, until it ends

\`runstream <command> --help\` shows a command's options.

Options:
  --json          machine-readable output (one JSON document, or one event per line for tail)
  -h, --help      this help
  -v, --version   the version of runstream

Environment:
  RUNSTREAM_URL       api base URL. Unset: the URL of the \`pnpm start\` running for this folder
                      (.runstream/start.json here or in a folder above), else ${DEFAULT_URL}
  RUNSTREAM_API_KEY   sent as a Bearer token when set

Exit codes: 0 ok, 1 api or network error, 2 usage error, 3 tail ended with a failed or cancelled run,
130 interrupted.`;

/** The event names a run's status is also known by: the status a run is in after that event. */
const STATUS_ALIASES: Readonly<Record<string, RunStatus>> = {
  started: 'running',
  completed: 'succeeded',
};

const RUNS_USAGE = `Usage: runstream runs <create|list|get|cancel> [options]

  runs create <graph> [--input <json>] [--idempotency-key <key>]
      Start a run of <graph>. --input is the graph's input, a JSON object; a second create with
      the same --idempotency-key returns the first run instead of starting another.
  runs list [--status <status>] [--graph <graph>] [--limit <n>] [--cursor <cursor>]
      Runs, newest first, one page at a time; the last line gives the command for the next page.
      --status: queued, running, succeeded, failed or cancelled. Event names work too:
      completed (or run.completed) lists succeeded runs, started (or run.started) running ones.
  runs get <runId>
      Print a run (JSON).
  runs cancel <runId>
      Ask a run to stop; it ends with run.cancelled. A run that has ended answers RUN_TERMINAL.

Options:
  --json   print the api's JSON`;

const TAIL_USAGE = `Usage: runstream tail <runId> [--from-seq <n>] [--json]

Print a run's events as they come, until its terminal event: each once and in order, resuming
after a dropped connection where it stopped.

Options:
  --from-seq <n>   the first seq to print (default 1)
  --json           one event per line, as JSON

Exit codes: 0 the run succeeded, 3 it failed or was cancelled, 1 api or network error,
130 interrupted.`;

/** Each command's help; `runstream <command> --help` and `runstream help <command>` print it. */
const COMMAND_USAGE: Readonly<Record<string, string>> = { runs: RUNS_USAGE, tail: TAIL_USAGE };

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Record<string, string | undefined>;
  /** Aborted on Ctrl-C: a running tail stops and the CLI exits 130. */
  signal?: AbortSignal;
  /** The client to use; built from the environment when absent. */
  client?: RunstreamClient;
  /**
   * Where to look for a running `pnpm start` (`.runstream/start.json`, here and upwards).
   * @default process.cwd()
   */
  cwd?: string;
}

class UsageError extends Error {
  /** The help to print after the message: the command's, when the error is in one. */
  constructor(
    message: string,
    readonly usage: string = USAGE,
  ) {
    super(message);
  }
}

/** Runs one CLI command and returns its exit code; never calls process.exit itself. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    // parseArgs knows no commands: the first word still tells whose options were wrong.
    const usage = COMMAND_USAGE[argv[0] ?? ''] ?? USAGE;
    io.stderr(`runstream: ${error instanceof Error ? error.message : String(error)}\n${usage}\n`);
    return EXIT.usage;
  }
  const { values, positionals } = parsed;
  if (values.version) {
    io.stdout(`${manifest.version}\n`);
    return EXIT.ok;
  }
  const [first, second] = positionals;
  if (values.help || first === 'help') {
    const topic = first === 'help' ? second : first;
    io.stdout(`${(topic && COMMAND_USAGE[topic]) || USAGE}\n`);
    return EXIT.ok;
  }
  if (first === undefined) {
    io.stderr(`${USAGE}\n`);
    return EXIT.usage;
  }
  const client =
    io.client ??
    createRunstreamClient({
      baseUrl: resolveBaseUrl(io.env, io.cwd ?? process.cwd()),
      apiKey: io.env.RUNSTREAM_API_KEY || undefined,
    });
  const print = (value: unknown): void => io.stdout(`${JSON.stringify(value, null, 2)}\n`);
  try {
    const [command, sub, arg] = positionals;
    if (command === 'runs' && sub === undefined)
      throw new UsageError('missing command: runs create, list, get or cancel', RUNS_USAGE);
    if (command === 'runs' && sub === 'create') {
      const graph = required(arg, 'runs create <graph>', RUNS_USAGE);
      const { run, created } = await client.runs.create(
        {
          graph,
          input: jsonObject(values.input, '--input', RUNS_USAGE),
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
      const query: ListRunsQuery = {
        status: status(values.status),
        graph: values.graph,
        limit: positiveInt(values.limit, '--limit', RUNS_USAGE),
        cursor: values.cursor,
      };
      const page = await client.runs.list(query, { signal: io.signal });
      if (values.json) print(page);
      else {
        io.stdout(formatRuns(page.runs));
        if (page.nextCursor)
          io.stdout(`more: ${nextPageCommand(values, page.nextCursor, io.env)}\n`);
      }
      return EXIT.ok;
    }
    if (command === 'runs' && (sub === 'get' || sub === 'cancel')) {
      const runId = required(arg, `runs ${sub} <runId>`, RUNS_USAGE);
      const run =
        sub === 'get'
          ? await client.runs.get(runId, { signal: io.signal })
          : await client.runs.cancel(runId, { signal: io.signal });
      if (values.json || sub === 'get') print(run);
      else io.stdout(`cancel requested for run ${run.id} (${run.status})\n`);
      return EXIT.ok;
    }
    if (command === 'tail') {
      const runId = required(sub, 'tail <runId>', TAIL_USAGE);
      return await tail(client, runId, values, io);
    }
    if (command === 'runs')
      throw new UsageError(`unknown command: ${positionals.join(' ')}`, RUNS_USAGE);
    throw new UsageError(`unknown command: ${positionals.join(' ')}`);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`runstream: ${error.message}\n${error.usage}\n`);
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
      version: { type: 'boolean', short: 'v', default: false },
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
  const fromSeq = positiveInt(values['from-seq'], '--from-seq', TAIL_USAGE);
  let last: ReceivedRunEvent | undefined;
  for await (const event of client.runs.events(runId, {
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
export function formatEvent(event: ReceivedRunEvent): string {
  const time = event.at.slice(11, 23);
  let detail: string;
  if (event.type === 'text.delta') detail = JSON.stringify(event.data.text);
  else if (Object.keys(event.data).length === 0) detail = '';
  else detail = JSON.stringify(event.data);
  const type = String(event.type);
  return `${String(event.seq).padStart(5)}  ${time}  ${type.padEnd(15)} ${detail}`.trimEnd() + '\n';
}

function formatRuns(runs: readonly Run[]): string {
  if (runs.length === 0) return 'no runs\n';
  const rows = runs.map((r) => [r.id, r.status, r.graph, String(r.lastSeq), r.createdAt]);
  const header = ['ID', 'STATUS', 'GRAPH', 'EVENTS', 'CREATED'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}

/**
 * The api URL: RUNSTREAM_URL when set; else that of the `pnpm start` running for the folder the
 * command runs in (its lock names it, so a non-default PORT needs no variable); else the default.
 */
export function resolveBaseUrl(env: CliIo['env'], cwd: string): string {
  return env.RUNSTREAM_URL || findStartUrl(cwd) || DEFAULT_URL;
}

/** A `--status` value as the api names it: a status, or the event name that enters it. */
function status(value: string | undefined): RunStatus | undefined {
  if (value === undefined) return undefined;
  const name = value.startsWith('run.') ? value.slice('run.'.length) : value;
  const parsed = RunStatusSchema.safeParse(STATUS_ALIASES[name] ?? name);
  if (parsed.success) return parsed.data;
  const aliases = Object.entries(STATUS_ALIASES)
    .map(([event, s]) => `${event} for ${s}`)
    .join(', ');
  throw new UsageError(
    `--status: must be one of ${RunStatusSchema.options.join(', ')} (or an event name: ${aliases})`,
    RUNS_USAGE,
  );
}

/**
 * How the user started this CLI, so that a hint can be pasted back as is: in a checkout it runs
 * as a package script (\`pnpm --silent runstream\`), elsewhere through npx or as an installed bin.
 */
export function invokedAs(env: CliIo['env']): string {
  const agent = env.npm_config_user_agent?.split('/')[0];
  if (env.npm_lifecycle_event === 'runstream') {
    if (agent === 'npm') return 'npm run --silent runstream --';
    if (agent === 'yarn') return 'yarn runstream';
    return 'pnpm --silent runstream';
  }
  if (env.npm_lifecycle_event === 'npx') return 'npx runstream';
  if (agent === 'pnpm' && env.npm_lifecycle_event === undefined) return 'pnpm exec runstream';
  return 'runstream';
}

/** The `runs list` the user ran, with the same filters, for the page after `cursor`. */
function nextPageCommand(values: Values, cursor: string, env: CliIo['env']): string {
  const words = [invokedAs(env), 'runs', 'list'];
  if (values.status !== undefined) words.push('--status', shellWord(values.status));
  if (values.graph !== undefined) words.push('--graph', shellWord(values.graph));
  if (values.limit !== undefined) words.push('--limit', shellWord(values.limit));
  words.push('--cursor', shellWord(cursor));
  return words.join(' ');
}

/** A word a POSIX shell reads back as itself. */
function shellWord(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;
}

function required(value: string | undefined, what: string, usage: string): string {
  if (!value) throw new UsageError(`missing argument: ${what}`, usage);
  return value;
}

function positiveInt(value: string | undefined, name: string, usage: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`${name}: must be a whole number of 1 or more`, usage);
  return n;
}

function jsonObject(
  value: string | undefined,
  name: string,
  usage: string,
): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new UsageError(`${name}: not valid JSON`, usage);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new UsageError(`${name}: must be a JSON object, e.g. '{"events": 10}'`, usage);
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
