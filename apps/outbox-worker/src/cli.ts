#!/usr/bin/env node
// `runstream-outbox` (and `pnpm outbox` at the root): operator commands for the outbox. One line
// on failure, never a stack trace; exit 1 when a command fails, 2 on wrong usage.
import { type CliDeps, UsageError, needsDatabase, runOutboxCli } from '@runstream/outbox';
import { createDatabase, createOutboxRepo } from '@runstream/persistence';
import { StartupError, databaseUrl, loadEnv } from '@runstream/runtime';
import { z } from 'zod';

const args = process.argv.slice(2);
const io = {
  out: (text: string) => void process.stdout.write(text),
  err: (text: string) => void process.stderr.write(text),
};
/** A message as one line: its last non-empty line (Prisma puts the cause last, after blanks). */
const oneLine = (error: unknown): string =>
  (error instanceof Error ? error.message : String(error))
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .at(-1) ?? 'failed';

let db: ReturnType<typeof createDatabase> | undefined;
try {
  let deps: CliDeps | undefined;
  if (needsDatabase(args)) {
    const env = loadEnv(z.object({ DATABASE_URL: databaseUrl }));
    db = createDatabase({
      url: env.DATABASE_URL,
      poolSize: 1,
      applicationName: 'runstream-outbox',
    });
    await db.pool.query('SELECT 1').catch((error: unknown) => {
      throw new Error(`cannot reach the database: ${oneLine(error)}`);
    });
    deps = { db, outbox: createOutboxRepo(db) };
  }
  process.exitCode = await runOutboxCli(args, deps, io);
} catch (error) {
  if (error instanceof StartupError) {
    // A missing or malformed variable: `NAME: problem`, like every Runstream process.
    io.err(`${error.toLine()}\n`);
    process.exitCode = 1;
  } else if (error instanceof UsageError) {
    io.err(`runstream-outbox: ${oneLine(error)} (see runstream-outbox help)\n`);
    process.exitCode = 2;
  } else {
    io.err(`runstream-outbox: ${oneLine(error)}\n`);
    process.exitCode = 1;
  }
} finally {
  await db?.close().catch(() => undefined);
}
