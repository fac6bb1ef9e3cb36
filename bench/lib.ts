// Shared benchmark plumbing: a fresh migrated database, timing, medians and the printed table.
// Benchmarks print each figure next to a reference measured in the same run: only ratios hold on
// a shared two-core machine.
import { randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';

import { migrate } from '@runstream/persistence';
import { dropDatabase, withDatabase } from '@runstream/persistence/testing';
import { type EmbeddedPostgres, startEmbeddedPostgres } from '@runstream/testkit';
import pg from 'pg';

export interface BenchDatabase {
  url: string;
  close(): Promise<void>;
}

/**
 * A fresh migrated database on BENCH_DATABASE_URL, DATABASE_URL or TEST_DATABASE_URL (an admin
 * URL: the database is created next to it), else on a throwaway embedded PostgreSQL.
 */
export async function benchDatabase(): Promise<BenchDatabase> {
  const configured =
    process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL ?? process.env.TEST_DATABASE_URL;
  let server: EmbeddedPostgres | undefined;
  const adminUrl = configured ?? (server = await startEmbeddedPostgres()).adminUrl;
  const name = `rs_bench_${process.pid}_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const url = withDatabase(adminUrl, name);
  await migrate({ url });
  return {
    url,
    async close() {
      await dropDatabase(adminUrl, name);
      await server?.close();
    },
  };
}

/** Runs `op` repeatedly for `ms` milliseconds, one call at a time; returns operations per second. */
export async function opsPerSecond(op: () => Promise<unknown>, ms: number): Promise<number> {
  const start = performance.now();
  let n = 0;
  while (performance.now() - start < ms) {
    await op();
    n++;
  }
  return (n * 1000) / (performance.now() - start);
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

export interface Row {
  name: string;
  value: number;
  unit: string;
  reference?: { name: string; value: number };
}

export function fmt(n: number): string {
  return n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(2);
}

export function printTable(title: string, rows: readonly Row[]): void {
  const lines = [
    `\n## ${title}`,
    `machine: ${cpus()[0]?.model ?? 'cpu'} x${availableParallelism()}, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}`,
    '',
    '| measure | value | reference (same run) | ratio |',
    '| --- | ---: | --- | ---: |',
    ...rows.map((r) =>
      r.reference
        ? `| ${r.name} | ${fmt(r.value)} ${r.unit} | ${r.reference.name}: ${fmt(r.reference.value)} ${r.unit} | ${(r.value / r.reference.value).toFixed(2)}x |`
        : `| ${r.name} | ${fmt(r.value)} ${r.unit} | | |`,
    ),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  // The `pnpm bench` driver (bench/report.ts) collects the figures of every benchmark from here.
  const resultsFile = process.env.BENCH_RESULTS_FILE;
  if (resultsFile) {
    appendFileSync(
      resultsFile,
      rows.map((row) => `${JSON.stringify({ title, ...row })}\n`).join(''),
    );
  }
}
