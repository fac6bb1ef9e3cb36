import { createGraphRegistry } from '@runstream/orchestrator';
import type { GraphRegistryRepo } from '@runstream/persistence';

import { builtInGraphs } from '../index.js';

/**
 * Registers the built-in graphs as a stock run-worker does at start, for tests of the api that
 * create runs of them without running a worker.
 */
export async function registerBuiltInGraphs(
  graphs: Pick<GraphRegistryRepo, 'register'>,
  options: { liveForMs?: number } = {},
): Promise<void> {
  await graphs.register(createGraphRegistry(builtInGraphs).registrations(), {
    liveForMs: options.liveForMs ?? 3_600_000,
  });
}
