// Rewrites the dependency graph in every doc that embeds it, from the package.json files.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import {
  DOCS_WITH_GRAPH,
  ROOT,
  readWorkspace,
  renderDependencyGraph,
  withGraph,
} from './dependency-graph.js';

const graph = renderDependencyGraph(readWorkspace());
for (const doc of DOCS_WITH_GRAPH) {
  const file = join(ROOT, doc);
  const before = readFileSync(file, 'utf8');
  const after = withGraph(before, graph);
  if (after !== before) writeFileSync(file, after);
  process.stdout.write(`${doc}: ${after === before ? 'up to date' : 'rewritten'}\n`);
}
