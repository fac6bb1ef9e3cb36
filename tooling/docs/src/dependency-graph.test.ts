import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import {
  DOCS_WITH_GRAPH,
  ROOT,
  embeddedGraph,
  reachable,
  readWorkspace,
  renderDependencyGraph,
  withGraph,
} from './dependency-graph.js';

const packages = readWorkspace();

describe('the dependency graph in the docs', () => {
  it.each(DOCS_WITH_GRAPH)(
    '%s shows the runtime dependencies that package.json states (else: pnpm --filter @runstream/docs graph)',
    (doc) => {
      const markdown = readFileSync(join(ROOT, doc), 'utf8');
      expect(embeddedGraph(markdown)).toBe(renderDependencyGraph(packages));
    },
  );

  it('reads every app and library, and an arrow per workspace dependency', () => {
    const names = packages.map((pkg) => pkg.name);
    expect(names).toEqual(expect.arrayContaining(['api', 'run-worker', 'events', 'persistence']));
    const graph = renderDependencyGraph(packages);
    expect(graph).toContain('  api --> stream');
    expect(graph).toContain('  run_worker --> orchestrator');
    expect(graph).not.toContain('tooling');
  });

  it('a drifted block is found and replaced, the text around it kept', () => {
    const graph = renderDependencyGraph(packages);
    const stale = graph.replace('api --> stream', 'api --> orchestrator');
    const doc = `before\n\n${stale}\n\nafter\n`;
    expect(embeddedGraph(doc)).not.toBe(graph);
    expect(withGraph(doc, graph)).toBe(`before\n\n${graph}\n\nafter\n`);
    expect(() => withGraph('no block here', graph)).toThrow(/no <!-- dependency-graph:start/);
  });
});

describe('what the docs say about the graph in words', () => {
  it('the api never reaches the orchestrator or the graphs: it learns graphs from the registry', () => {
    const fromApi = reachable(packages, 'api');
    expect(fromApi).not.toContain('orchestrator');
    expect(fromApi).not.toContain('graphs');
  });

  it('the events catalogue and the runtime depend on no other package', () => {
    const byName = new Map(packages.map((pkg) => [pkg.name, pkg]));
    expect(byName.get('events')?.dependsOn).toEqual([]);
    expect(byName.get('runtime')?.dependsOn).toEqual([]);
  });

  it('the client reaches only the contract and the events (what another team installs)', () => {
    expect([...reachable(packages, 'client')].sort()).toEqual(['contract', 'events']);
  });

  it('dependencies point one way (no package reaches itself)', () => {
    for (const pkg of packages) expect(reachable(packages, pkg.name)).not.toContain(pkg.name);
  });
});
