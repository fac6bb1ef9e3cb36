import { type Repositories, createRepositories } from '../repositories.js';

/** The repositories as the processes wire them (an alias kept short for tests). */
export const createRepos = createRepositories;
export type Repos = Repositories;

/** Creates a queued run with its first event, for tests that need one. */
export async function seedRun(
  repos: Repos,
  overrides: { tenant?: string; graph?: string; idempotencyKey?: string } = {},
) {
  const { run } = await repos.runs.create({
    tenant: overrides.tenant ?? 'default',
    graph: overrides.graph ?? 'synthetic',
    input: {},
    idempotencyKey: overrides.idempotencyKey,
    firstEvent: { type: 'run.queued', data: {} },
  });
  return run;
}
