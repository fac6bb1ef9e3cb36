import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { createGraphCatalog, createRun } from '@runstream/graph-catalog';
import { createRepos, openTestDatabase } from '@runstream/persistence/testing';
import { ROOT, spawnNode, stop } from '@runstream/testkit';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

const exec = promisify(execFile);
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

/** The packages published to npm, by folder under packages/. */
const PUBLISHED = [
  'events',
  'contract',
  'persistence',
  'orchestrator',
  'graph-catalog',
  'graphs',
  'bus',
  'outbox',
  'stream',
  'client',
  'viewer',
  'runtime',
] as const;

type Exports = string | { [key: string]: Exports };

/** The condition under which workspace packages resolve to their sources (docs/adr/0029). */
const SOURCE_CONDITION = '@runstream/source';

/** An exports map without the source condition: what publishConfig.exports must say. */
function withoutSource(exports: Exports): Exports {
  if (typeof exports === 'string') return exports;
  return Object.fromEntries(
    Object.entries(exports)
      .filter(([key]) => key !== SOURCE_CONDITION)
      .map(([key, value]) => [key, withoutSource(value)]),
  );
}

/** Every file an exports map points at. */
function targets(exports: Exports): string[] {
  if (typeof exports === 'string') return [exports.replace(/^\.\//, '')];
  return Object.values(exports).flatMap(targets);
}

interface Packed {
  tarball: string;
  files: string[];
  manifest: {
    name: string;
    license?: string;
    repository?: { type?: string; url?: string; directory?: string };
    publishConfig?: { access?: string };
    engines?: { node?: string };
    exports?: Exports;
    dependencies?: Record<string, string>;
    peerDependencies?: Record<string, string>;
  };
}

/** Runs a command in `cwd`, resolving with its exit code and output instead of throwing. */
async function attempt(
  command: string,
  args: string[],
  cwd: string,
): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await exec(command, args, { cwd, timeout: 120_000 });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, output: `${e.stdout}${e.stderr}` };
  }
}

/** Every ```ts block of a README, in order. */
function typescriptBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1]!);
}

describe('published packages, packed and installed by npm into a project outside the workspace', () => {
  const dir = mkdtempSync(join(tmpdir(), 'runstream-pack-'));
  chmodSync(dir, 0o755);
  const tarballs = join(dir, 'tarballs');
  const consumer = join(dir, 'consumer');
  const packed = new Map<string, Packed>();

  beforeAll(async () => {
    mkdirSync(tarballs);
    mkdirSync(consumer);
    for (const name of PUBLISHED) {
      const { stdout } = await exec('pnpm', ['pack', '--json', '--pack-destination', tarballs], {
        cwd: join(ROOT, 'packages', name),
      });
      const result = JSON.parse(stdout) as { filename: string; files: { path: string }[] };
      const { stdout: manifest } = await exec('tar', [
        '-xzOf',
        result.filename,
        'package/package.json',
      ]);
      packed.set(name, {
        tarball: result.filename,
        files: result.files.map((file) => file.path).sort(),
        manifest: JSON.parse(manifest) as Packed['manifest'],
      });
    }
    // What another team's project would hold: the tarballs, and its own Node types.
    const dependencies: Record<string, string> = { '@types/node': '^20.19.0' };
    for (const { tarball, manifest } of packed.values())
      dependencies[manifest.name] = `file:${tarball}`;
    writeFileSync(
      join(consumer, 'package.json'),
      JSON.stringify({ name: 'consumer', private: true, type: 'module', dependencies }, null, 2),
    );
    const install = await attempt(
      'npm',
      ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'],
      consumer,
    );
    if (install.code !== 0) throw new Error(`npm install failed:\n${install.output}`);
  }, 180_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each(PUBLISHED)(
    '%s packs with its LICENSE, README and built code, publishing metadata, exports naming only what it ships, and no sources or tests',
    (name) => {
      const { files, manifest } = packed.get(name)!;
      expect(files).toContain('LICENSE');
      expect(files).toContain('README.md');
      expect(files).toContain('package.json');
      expect(files.some((file) => /^dist\/.+\.js$/.test(file))).toBe(true);
      expect(files.some((file) => /^dist\/.+\.d\.ts$/.test(file))).toBe(true);
      expect(
        files.filter((file) => file.startsWith('src/') || /\.test\.|(?<!\.d)\.ts$/.test(file)),
      ).toEqual([]);
      expect(manifest).toMatchObject({
        license: 'Apache-2.0',
        repository: { type: 'git', directory: `packages/${name}` },
        publishConfig: { access: 'public' },
        engines: { node: '>=20.19' },
      });
      // The workspace resolves to sources; the published manifest names only files it ships, and
      // says the same as the workspace's exports otherwise (publishConfig.exports has not drifted).
      const workspace = JSON.parse(
        readFileSync(join(ROOT, 'packages', name, 'package.json'), 'utf8'),
      ) as { exports: Exports };
      expect(JSON.stringify(manifest.exports)).not.toContain(SOURCE_CONDITION);
      expect(manifest.exports).toEqual(withoutSource(workspace.exports));
      expect(targets(manifest.exports!).filter((target) => !files.includes(target))).toEqual([]);
      const specs = { ...manifest.dependencies, ...manifest.peerDependencies };
      expect(Object.values(specs).filter((spec) => /^(workspace|catalog):/.test(spec))).toEqual([]);
    },
  );

  it('the LICENSE is the Apache License 2.0', () => {
    const license = readFileSync(join(consumer, 'node_modules/@runstream/client/LICENSE'), 'utf8');
    expect(license).toMatch(/Apache License\s+Version 2\.0, January 2004/);
  });

  it('every package imports from an ES module', async () => {
    const script = `
      const names = ${JSON.stringify(PUBLISHED)};
      const found = {};
      for (const name of names) found[name] = Object.keys(await import('@runstream/' + name)).sort();
      console.log(JSON.stringify(found));`;
    const result = await attempt('node', ['--input-type=module', '-e', script], consumer);
    expect(result.code, result.output).toBe(0);
    const exports = JSON.parse(result.output) as Record<string, string[]>;
    expect(exports.client).toContain('createRunstreamClient');
    expect(exports.contract).toContain('RunSchema');
    expect(exports.events).toContain('parseRunEvent');
    expect(exports.persistence).toContain('createRepositories');
    expect(exports.orchestrator).toContain('defineGraph');
    expect(exports['graph-catalog']).toContain('createRun');
    expect(exports.graphs).toContain('builtInGraphs');
    expect(exports.bus).toContain('createBus');
    expect(exports.outbox).toContain('createOutboxWorker');
    expect(exports.stream).toContain('followRun');
    expect(exports.viewer).toContain('viewerAssetsDir');
    expect(exports.runtime).toContain('loadEnv');
  });

  it("a team's own worker, on the installed packages alone (examples/team-worker.mjs), registers echo and runs it", async () => {
    for (const file of ['team-worker.mjs', 'echo-graph.mjs'])
      writeFileSync(join(consumer, file), readFileSync(join(ROOT, 'examples', file)));
    const database = await openTestDatabase({ poolSize: 2 });
    const worker = spawnNode(['team-worker.mjs'], {
      cwd: consumer,
      env: { PATH: process.env.PATH, DATABASE_URL: database.url },
    });
    try {
      const repos = createRepos(database.db);
      const catalog = createGraphCatalog({ registry: repos.graphs });
      const run = await vi.waitUntil(
        async () => {
          if (worker.child.exitCode !== null) throw new Error(`worker exited:\n${worker.output()}`);
          const registered = await repos.graphs.get('echo');
          return registered
            ? (
                await createRun(
                  { runs: repos.runs, catalog },
                  { tenant: 't', graph: 'echo', input: { text: 'a b' } },
                )
              ).run
            : undefined;
        },
        { timeout: 30_000, interval: 50 },
      );
      const ended = await vi.waitUntil(
        async () => {
          const current = await repos.runs.getById(run.id);
          return current.finishedAt ? current : undefined;
        },
        { timeout: 30_000, interval: 50 },
      );
      expect(ended).toMatchObject({ status: 'succeeded', output: { text: 'a b' } });
    } finally {
      await stop(worker);
      await database.drop();
    }
  });

  it("the stock run-worker serves a graph module of a team's project, which imports its own install of @runstream/orchestrator", async () => {
    // Two copies of the orchestrator and of zod meet: the worker's, and the one the module imports.
    writeFileSync(
      join(consumer, 'echo-graph.mjs'),
      readFileSync(join(ROOT, 'examples', 'echo-graph.mjs')),
    );
    const database = await openTestDatabase({ poolSize: 2 });
    const worker = spawnNode([join(ROOT, 'apps', 'run-worker', 'dist', 'main.js')], {
      cwd: consumer,
      env: {
        PATH: process.env.PATH,
        DATABASE_URL: database.url,
        RUNSTREAM_GRAPHS: './echo-graph.mjs',
        RUNSTREAM_RUN_WORKER_METRICS_PORT: '0',
      },
    });
    try {
      const repos = createRepos(database.db);
      const catalog = createGraphCatalog({ registry: repos.graphs });
      const run = await vi.waitUntil(
        async () => {
          if (worker.child.exitCode !== null) throw new Error(`worker exited:\n${worker.output()}`);
          return (await repos.graphs.get('echo'))
            ? (
                await createRun(
                  { runs: repos.runs, catalog },
                  { tenant: 't', graph: 'echo', input: { text: 'c d' } },
                )
              ).run
            : undefined;
        },
        { timeout: 30_000, interval: 50 },
      );
      const ended = await vi.waitUntil(
        async () => {
          const current = await repos.runs.getById(run.id);
          return current.finishedAt ? current : undefined;
        },
        { timeout: 30_000, interval: 50 },
      );
      expect(ended).toMatchObject({ status: 'succeeded', output: { text: 'c d' } });
    } finally {
      await stop(worker);
      await database.drop();
    }
  });

  it('the client, the contract and the events load from CommonJS, and agree with their ES modules', async () => {
    const script = `
      const client = require('@runstream/client');
      const contract = require('@runstream/contract');
      const events = require('@runstream/events');
      import('@runstream/client').then((esm) => {
        // Two copies of the class (CommonJS and ES module): instanceof holds across them.
        const fromRequire = new client.RunstreamError('NETWORK_ERROR', 'x');
        const fromImport = new esm.RunstreamError('NETWORK_ERROR', 'x');
        console.log(JSON.stringify({
          createRunstreamClient: typeof client.createRunstreamClient,
          runSchema: typeof contract.RunSchema.parse,
          parseRunEvent: typeof events.parseRunEvent,
          sameCodes: JSON.stringify(contract.API_ERROR_CODES) === JSON.stringify(esm.API_ERROR_CODES),
          crossInstanceof: fromRequire instanceof esm.RunstreamError && fromImport instanceof client.RunstreamError,
          resolved: require.resolve('@runstream/client'),
        }));
      });`;
    const result = await attempt('node', ['-e', script], consumer);
    expect(result.output).not.toMatch(/ERR_PACKAGE_PATH_NOT_EXPORTED|ERR_REQUIRE_ESM/);
    expect(result.code, result.output).toBe(0);
    expect(JSON.parse(result.output)).toEqual({
      createRunstreamClient: 'function',
      runSchema: 'function',
      parseRunEvent: 'function',
      sameCodes: true,
      crossInstanceof: true,
      resolved: expect.stringMatching(/@runstream\/client\/dist\/index\.cjs$/) as unknown,
    });
  });

  /** A folder of the consumer project with these files, type-checked by tsc with `resolution`. */
  async function typecheck(
    label: string,
    resolution: Record<string, string>,
    sources: Record<string, string>,
    extraArgs: string[] = [],
  ): Promise<{ code: number; output: string }> {
    const folder = join(consumer, label);
    mkdirSync(folder);
    for (const [file, code] of Object.entries(sources)) writeFileSync(join(folder, file), code);
    writeFileSync(
      join(folder, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          ...resolution,
          target: 'es2022',
          lib: ['es2023'],
          types: ['node'],
          strict: true,
          noEmit: true,
          // Check the packages' own declarations too, not only their use.
          skipLibCheck: false,
        },
        files: Object.keys(sources),
      }),
    );
    return attempt('node', [tsc, '-p', 'tsconfig.json', ...extraArgs], folder);
  }

  /** An ES module consumer: errors by code, events narrowed by type. */
  const esmConsumer = `import { RunstreamError, createRunstreamClient, type Run } from '@runstream/client';
import { type RunEvent, parseRunEvent } from '@runstream/events';

const client = createRunstreamClient({ baseUrl: 'http://127.0.0.1:3000' });
export async function lastRuns(): Promise<Run[]> {
  try {
    return (await client.runs.list({ limit: 5 })).runs;
  } catch (error) {
    if (error instanceof RunstreamError && error.code === 'NETWORK_ERROR') return [];
    throw error;
  }
}
export async function failureCodes(runId: string): Promise<string[]> {
  const codes: string[] = [];
  for await (const event of client.runs.events(runId)) {
    if (event.type === 'run.failed') codes.push(event.data.error.code);
  }
  return codes;
}
export async function liveGraphs(): Promise<string[]> {
  return (await client.graphs.list()).filter((graph) => graph.live).map((graph) => graph.name);
}
export function failureCode(value: unknown): string | undefined {
  const event: RunEvent = parseRunEvent(value);
  return event.type === 'run.failed' ? event.data.error.code : undefined;
}
`;

  /** The same from a CommonJS file: its imports compile to require() and read the .d.cts. */
  const cjsConsumer = `import { RunstreamError, createRunstreamClient } from '@runstream/client';
import { RunSchema } from '@runstream/contract';

const client = createRunstreamClient({ baseUrl: 'http://127.0.0.1:3000' });
export async function firstFailure(runId: string): Promise<string | undefined> {
  for await (const event of client.runs.events(runId)) {
    if (event.type === 'run.failed') return event.data.error.code;
  }
  return undefined;
}
export function isGone(error: unknown): boolean {
  return error instanceof RunstreamError && error.code === 'RUN_NOT_FOUND';
}
export const runKeys = Object.keys(RunSchema.shape);
`;

  it.each([
    ['node16', { module: 'node16', moduleResolution: 'node16' }],
    ['bundler', { module: 'esnext', moduleResolution: 'bundler' }],
  ])(
    'a consumer and every README example type-check with module resolution %s',
    async (label, resolution) => {
      const sources: Record<string, string> = { 'consumer.ts': esmConsumer };
      // node16 reads a .cts file as CommonJS: the require() side of every exports map.
      if (label === 'node16') sources['consumer.cts'] = cjsConsumer;
      for (const name of PUBLISHED) {
        const readme = readFileSync(
          join(consumer, 'node_modules', '@runstream', name, 'README.md'),
          'utf8',
        );
        const blocks = typescriptBlocks(readme);
        expect(blocks.length, `${name}'s README has a TypeScript example`).toBeGreaterThan(0);
        blocks.forEach((code, i) => (sources[`readme-${name}-${i + 1}.ts`] = code));
      }
      const result = await typecheck(`check-${label}`, resolution, sources, ['--listFiles']);
      expect(result.output).not.toMatch(/error TS/);
      expect(result.code, result.output).toBe(0);
      const read = (file: string) => result.output.includes(`@runstream/client/dist/${file}`);
      expect(read('index.d.ts')).toBe(true);
      expect(read('index.d.cts')).toBe(label === 'node16');
    },
  );

  it('a consumer that compares with a code the api never sends, or an event type in no catalogue, does not compile', async () => {
    const wrong = (
      kind: 'esm' | 'cjs',
    ) => `import { RunstreamError, createRunstreamClient } from '@runstream/client';

export function isValidation(error: unknown): boolean {
  return error instanceof RunstreamError && error.code === 'VALIDATION_ERROR';
}
export async function nope(runId: string): Promise<boolean> {
  for await (const event of createRunstreamClient().runs.events(runId)) {
    if (event.type === 'nope') return true;
  }
  return false; // ${kind}
}
`;
    const result = await typecheck(
      'check-wrong',
      { module: 'node16', moduleResolution: 'node16' },
      {
        'wrong.ts': wrong('esm'),
        'wrong.cts': wrong('cjs'),
      },
    );
    expect(result.code).not.toBe(0);
    const errors = result.output.split('\n').filter((line) => /error TS/.test(line));
    expect(errors).toHaveLength(4);
    for (const file of ['wrong.ts', 'wrong.cts']) {
      expect(errors).toContainEqual(
        expect.stringMatching(
          new RegExp(`^${file.replace('.', '\\.')}\\(4,.*TS2367.*"VALIDATION_ERROR"`),
        ),
      );
      expect(errors).toContainEqual(
        expect.stringMatching(new RegExp(`^${file.replace('.', '\\.')}\\(8,.*TS2367.*"nope"`)),
      );
    }
  });
});
