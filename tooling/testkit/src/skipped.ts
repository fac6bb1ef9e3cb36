import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

import { ROOT } from './process.js';

/**
 * Suites skipped for lack of a service are written down here, one file each, by whichever vitest
 * worker skipped them; `pnpm test` empties the folder first and prints one line from it at the end,
 * so that a machine without NATS never passes in silence.
 */
const SKIPPED_DIR = join(ROOT, 'node_modules', '.cache', 'runstream-skipped');

export interface Skip {
  /** What was skipped, e.g. "bus contract: nats". */
  suite: string;
  /** The service that was missing, e.g. "NATS". */
  need: string;
  reason: string;
  /** The workspace package whose tests skipped it (the folder vitest runs in). */
  pkg?: string;
}

export function recordSkip(skip: Skip): void {
  const entry: Skip = { ...skip, pkg: skip.pkg ?? basename(process.cwd()) };
  const key = createHash('sha1').update(`${entry.pkg}\0${entry.suite}`).digest('hex').slice(0, 12);
  mkdirSync(SKIPPED_DIR, { recursive: true });
  writeFileSync(join(SKIPPED_DIR, `${key}.json`), JSON.stringify(entry));
}

export function readSkips(): Skip[] {
  let files: string[];
  try {
    files = readdirSync(SKIPPED_DIR).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
  return files
    .map((f) => JSON.parse(readFileSync(join(SKIPPED_DIR, f), 'utf8')) as Skip)
    .sort((a, b) => `${a.pkg} ${a.suite}`.localeCompare(`${b.pkg} ${b.suite}`));
}

export function clearSkips(): void {
  rmSync(SKIPPED_DIR, { recursive: true, force: true });
}

/** One line for all skips, grouped by the missing service; undefined when nothing was skipped. */
export function skipsLine(skips: readonly Skip[]): string | undefined {
  if (skips.length === 0) return undefined;
  const byNeed = new Map<string, Skip[]>();
  for (const skip of skips) byNeed.set(skip.need, [...(byNeed.get(skip.need) ?? []), skip]);
  const parts = [...byNeed].map(([need, list]) => {
    const suites = list.map((s) => `${s.pkg}: ${s.suite}`).join(', ');
    const reasons = [...new Set(list.map((s) => s.reason))].join('; ');
    return `${list.length} ${need} suite${list.length === 1 ? '' : 's'} (${suites}), because ${reasons}`;
  });
  return `SKIPPED ${parts.join('; ')}`;
}
