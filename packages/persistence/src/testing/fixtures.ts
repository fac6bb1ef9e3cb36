import { runQueuedEvent } from '@runstream/events';

import { type Repositories, createRepositories } from '../repositories.js';

/** The repositories as the processes wire them (an alias kept short for tests). */
export const createRepos = createRepositories;
export type Repos = Repositories;

/** Creates a queued run with its first event, for tests that need one. */
export async function seedRun(
  repos: Repos,
  overrides: { tenant?: string; graph?: string; idempotencyKey?: string } = {},
) {
  const graph = overrides.graph ?? 'synthetic';
  const { run } = await repos.runs.create({
    tenant: overrides.tenant ?? 'default',
    graph,
    input: {},
    idempotencyKey: overrides.idempotencyKey,
    firstEvent: runQueuedEvent(graph),
  });
  return run;
}
