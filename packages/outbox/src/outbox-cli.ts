import { parseArgs } from 'node:util';

import {
  type Database,
  OUTBOX_WAKEUP_CHANNEL,
  type OutboxRepo,
  isRunId,
  rotateBusSigningKey,
} from '@runstream/persistence';

export const USAGE = `runstream-outbox: operate the outbox of the database at DATABASE_URL

Usage:
  runstream-outbox parked [--json]   list parked runs: run, seq it stopped at, attempts, when, last error
  runstream-outbox unpark <runId>    put a parked run back in line (the workers retry it at once)
  runstream-outbox unpark --all      put every parked run back in line
  runstream-outbox rotate-bus-key    replace the bus signing key; then restart the api and outbox workers
  runstream-outbox help              this text

A run is parked when a cause that belongs to it (an event that breaks the envelope, an event row
that does not exist) failed its publish RUNSTREAM_OUTBOX_MAX_ATTEMPTS times, or at once when it can
never succeed. Fix the cause, then unpark it.

Exit codes: 0 done, 1 failed (one line on stderr), 2 wrong usage.
`;

/** Where the command writes; a test or another front end may capture it. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

export interface CliDeps {
  db: Pick<Database, 'pool'>;
  outbox: Pick<OutboxRepo, 'listParked' | 'unpark' | 'unparkAll'>;
}

/** Wrong usage: exit code 2 with one line and a pointer to `help`. */
export class UsageError extends Error {
  readonly code = 'USAGE' as const;
}

/** Whether `args` need the database (help does not). */
export function needsDatabase(args: readonly string[]): boolean {
  const command = args[0];
  return command !== undefined && !['help', '--help', '-h'].includes(command);
}

/**
 * Runs one command; resolves with the exit code. Throws UsageError for wrong usage and lets a
 * database error through (the bin prints either as one line).
 */
export async function runOutboxCli(
  args: readonly string[],
  deps: CliDeps | undefined,
  io: CliIo,
): Promise<number> {
  const [command, ...rest] = args;
  if (command === undefined) {
    io.err(USAGE);
    return 2;
  }
  if (!needsDatabase(args)) {
    io.out(USAGE);
    return 0;
  }
  const { values, positionals } = parse(rest, command);
  if (!deps) throw new Error('the database is needed for this command');
  switch (command) {
    case 'parked': {
      if (positionals.length > 0) throw new UsageError('parked takes no arguments');
      const parked = await deps.outbox.listParked();
      if (values.json) {
        io.out(`${JSON.stringify(parked, null, 2)}\n`);
        return 0;
      }
      if (parked.length === 0) {
        io.out('no parked runs\n');
        return 0;
      }
      const rows = parked.map((p) => [
        p.runId,
        String(p.seq),
        String(p.attempts),
        p.parkedAt.toISOString(),
        oneLine(p.lastError ?? ''),
      ]);
      io.out(table(['RUN', 'SEQ', 'ATTEMPTS', 'PARKED AT', 'LAST ERROR'], rows));
      return 0;
    }
    case 'unpark': {
      if (values.all) {
        if (positionals.length > 0)
          throw new UsageError('unpark takes a run id or --all, not both');
        const n = await deps.outbox.unparkAll();
        if (n > 0) await wake(deps);
        io.out(`unparked ${n} run${n === 1 ? '' : 's'}\n`);
        return 0;
      }
      if (positionals.length !== 1) throw new UsageError('unpark takes one run id, or --all');
      const runId = positionals[0]!.toLowerCase();
      if (!isRunId(runId)) throw new UsageError(`not a run id: ${positionals[0]!.slice(0, 64)}`);
      if ((await deps.outbox.unpark(runId)) === 0) {
        io.err(`runstream-outbox: run ${runId} is not parked\n`);
        return 1;
      }
      await wake(deps);
      io.out(`unparked run ${runId}\n`);
      return 0;
    }
    case 'rotate-bus-key': {
      if (positionals.length > 0) throw new UsageError('rotate-bus-key takes no arguments');
      await rotateBusSigningKey(deps.db.pool);
      io.out(
        'rotated the bus signing key; restart the api and outbox workers to use it (until then,\n' +
          'events between processes on different keys are read from the database)\n',
      );
      return 0;
    }
    default:
      throw new UsageError(`unknown command: ${command.slice(0, 64)}`);
  }
}

function parse(args: readonly string[], command: string) {
  try {
    return parseArgs({
      args: [...args],
      allowPositionals: true,
      strict: true,
      options: {
        json: { type: 'boolean', default: false },
        all: { type: 'boolean', default: false },
      },
    });
  } catch (error) {
    throw new UsageError(`${command}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** The workers poll anyway; a wake-up makes an unparked run go out now. */
async function wake(deps: CliDeps): Promise<void> {
  await deps.db.pool.query('SELECT pg_notify($1, $2)', [OUTBOX_WAKEUP_CHANNEL, '']);
}

const oneLine = (text: string): string => {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 120 ? `${line.slice(0, 119)}…` : line;
};

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return `${[head, ...rows].map(line).join('\n')}\n`;
}
