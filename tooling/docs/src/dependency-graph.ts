// The workspace's dependency graph as package.json states it, drawn as a mermaid flowchart that the
// docs embed between two markers: written by `pnpm --filter @runstream/docs graph`, checked by
// dependency-graph.test.ts so that the picture cannot drift from the manifests.
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)));

/** The folders whose packages the graph shows: the apps and the libraries (not tooling/). */
const GROUPS = ['apps', 'packages'] as const;
const SCOPE = '@runstream/';

const START_MARKER = '<!-- dependency-graph:start (pnpm --filter @runstream/docs graph) -->';
const END_MARKER = '<!-- dependency-graph:end -->';

/** The docs that embed the graph, from the repository root. */
export const DOCS_WITH_GRAPH = ['README.md', 'docs/architecture.md'] as const;

export interface WorkspacePackage {
  /** The name without the scope: `api`, `persistence`. */
  name: string;
  group: (typeof GROUPS)[number];
  /** Runtime dependencies (`dependencies`) inside the workspace, without the scope, sorted. */
  dependsOn: string[];
}

export function readWorkspace(root: string = ROOT): WorkspacePackage[] {
  return GROUPS.flatMap((group) =>
    readdirSync(join(root, group), { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => {
        const manifest = JSON.parse(
          readFileSync(join(root, group, entry.name, 'package.json'), 'utf8'),
        ) as { name: string; dependencies?: Record<string, string> };
        return {
          name: manifest.name.slice(SCOPE.length),
          group,
          dependsOn: Object.keys(manifest.dependencies ?? {})
            .filter((dependency) => dependency.startsWith(SCOPE))
            .map((dependency) => dependency.slice(SCOPE.length))
            .sort(),
        };
      }),
  ).sort((a, b) => a.name.localeCompare(b.name));
}

/** Every package `from` reaches through runtime dependencies, itself excluded. */
export function reachable(packages: WorkspacePackage[], from: string): Set<string> {
  const byName = new Map(packages.map((pkg) => [pkg.name, pkg]));
  const seen = new Set<string>();
  const stack = [...(byName.get(from)?.dependsOn ?? [])];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    if (seen.has(next)) continue;
    seen.add(next);
    stack.push(...(byName.get(next)?.dependsOn ?? []));
  }
  return seen;
}

/** The mermaid block, markers included: apps on top, an arrow per runtime dependency. */
export function renderDependencyGraph(packages: WorkspacePackage[]): string {
  const id = (name: string) => name.replace(/-/g, '_');
  // Blank lines around the fence, as prettier writes them.
  const lines = [START_MARKER, '', '```mermaid', 'flowchart TD'];
  for (const group of GROUPS) {
    lines.push(`  subgraph ${group}`);
    for (const pkg of packages.filter((p) => p.group === group))
      lines.push(`    ${id(pkg.name)}[${pkg.name}]`);
    lines.push('  end');
  }
  for (const pkg of packages)
    for (const dependency of pkg.dependsOn) lines.push(`  ${id(pkg.name)} --> ${id(dependency)}`);
  lines.push('```', '', END_MARKER);
  return lines.join('\n');
}

/** The block a document embeds now, markers included; undefined when it has none. */
export function embeddedGraph(markdown: string): string | undefined {
  const start = markdown.indexOf(START_MARKER);
  const end = markdown.indexOf(END_MARKER);
  if (start < 0 || end < start) return undefined;
  return markdown.slice(start, end + END_MARKER.length);
}

/** The document with its block replaced by `graph`; throws when it has no markers. */
export function withGraph(markdown: string, graph: string): string {
  const current = embeddedGraph(markdown);
  if (current === undefined) throw new Error(`no ${START_MARKER} ... ${END_MARKER} block`);
  return markdown.replace(current, graph);
}
