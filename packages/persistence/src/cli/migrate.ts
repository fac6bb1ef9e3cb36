#!/usr/bin/env node
// `pnpm db:migrate`: applies the migrations to DATABASE_URL. One line on failure, exit 1.
import { migrate } from '../migrate.js';

const url = process.env.DATABASE_URL;
if (!url) {
  process.stderr.write('DATABASE_URL: required (a PostgreSQL connection string)\n');
  process.exit(1);
}
try {
  const result = await migrate({ url, log: (line) => process.stdout.write(`${line}\n`) });
  process.stdout.write(
    `migrations: ${result.applied.length} applied, ${result.skipped.length} already applied\n`,
  );
} catch (error) {
  process.stderr.write(`db:migrate: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
