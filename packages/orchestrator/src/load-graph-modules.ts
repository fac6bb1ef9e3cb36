import { existsSync } from 'node:fs';
import { isAbsolute, resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';

import { resolve as resolveModule } from 'import-meta-resolve';

import { GraphModuleError } from './errors.js';
import type { GraphDefinition } from './graph.js';

export interface LoadGraphModulesOptions {
  /**
   * Where relative paths and package names are resolved from.
   * @default process.cwd()
   */
  cwd?: string;
}

/**
 * Imports graph modules (what RUNSTREAM_GRAPHS lists) and returns their graphs, in order. Each
 * module is a path (relative to `cwd`, or absolute, or a file: URL) or a package name, resolved
 * from `cwd` first and then from this package's own installation; its default export is one graph
 * or an array of graphs, made with `defineGraph`. A module that cannot be found or imported, or
 * that exports no graph, is a GraphModuleError whose message names it: a worker must not start
 * with part of the graphs it was told to serve.
 */
export async function loadGraphModules(
  specifiers: readonly string[],
  options: LoadGraphModulesOptions = {},
): Promise<GraphDefinition[]> {
  const cwd = options.cwd ?? process.cwd();
  const graphs: GraphDefinition[] = [];
  for (const specifier of specifiers) {
    const url = locate(specifier, cwd);
    let module: { default?: unknown };
    try {
      module = (await import(url)) as { default?: unknown };
    } catch (error) {
      throw new GraphModuleError(
        'MODULE_FAILED',
        specifier,
        `${specifier} failed to load: ${oneLine(error)}`,
        { cause: error },
      );
    }
    const exported = module.default;
    const found = Array.isArray(exported) ? exported : [exported];
    if (found.length === 0 || !found.every(isGraph)) {
      throw new GraphModuleError(
        'NO_GRAPH',
        specifier,
        `${specifier} exports no graph: its default export must be a graph or an array of graphs (defineGraph of @runstream/orchestrator)`,
      );
    }
    graphs.push(...found);
  }
  return graphs;
}

/** A path looks like one: it starts with `.` or `/`, is a file: URL, or ends in a JavaScript extension. */
const PATH = /^(\.{1,2}[\\/]|[\\/]|file:)|\.[cm]?js$/;

function locate(specifier: string, cwd: string): string {
  if (PATH.test(specifier)) {
    if (specifier.startsWith('file:')) return specifier;
    const path = isAbsolute(specifier) ? specifier : resolvePath(cwd, specifier);
    if (!existsSync(path))
      throw new GraphModuleError(
        'MODULE_NOT_FOUND',
        specifier,
        `${specifier}: no such file (${path}; relative paths start from ${cwd})`,
      );
    return pathToFileURL(path).href;
  }
  for (const parent of [pathToFileURL(`${cwd}/`).href, import.meta.url]) {
    try {
      return resolveModule(specifier, parent);
    } catch {
      // Try the next place; the error below names both.
    }
  }
  throw new GraphModuleError(
    'MODULE_NOT_FOUND',
    specifier,
    `${specifier}: no such package (looked from ${cwd} and from the run-worker's own installation)`,
  );
}

function isGraph(value: unknown): value is GraphDefinition {
  if (value === null || typeof value !== 'object') return false;
  const graph = value as Partial<GraphDefinition>;
  return (
    typeof graph.name === 'string' &&
    typeof graph.start === 'string' &&
    typeof graph.nodes === 'object' &&
    graph.nodes !== null &&
    typeof (graph.input as { safeParse?: unknown } | undefined)?.safeParse === 'function'
  );
}

function oneLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/\s+/g, ' ').trim();
}
