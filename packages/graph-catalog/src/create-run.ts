import { runQueuedEvent } from '@runstream/events';
import type { CreateRunResult, RunRepo } from '@runstream/persistence';

import type { GraphCatalog } from './graph-catalog.js';

export interface CreateRunDeps {
  runs: Pick<RunRepo, 'create'>;
  catalog: Pick<GraphCatalog, 'check'>;
}

export interface CreateRunRequest {
  tenant: string;
  graph: string;
  input?: unknown;
  idempotencyKey?: string | undefined;
  /** The most queued runs the tenant may have (QUOTA_EXCEEDED past it); unlimited when absent. */
  maxQueued?: number | undefined;
}

/**
 * Creates a queued run with its first event, run.queued, once its input fits the newest
 * registration of its graph; the run remembers that version, so that it is executed by a worker
 * serving it (ADR 0021). A refused request (RunInputError) has written nothing: the check comes
 * first. This is the one way a run is created: the api's POST /v1/runs and the tests call it.
 */
export async function createRun(
  deps: CreateRunDeps,
  request: CreateRunRequest,
): Promise<CreateRunResult> {
  const checked = await deps.catalog.check(request.graph, request.input);
  return deps.runs.create({
    tenant: request.tenant,
    graph: checked.graph,
    graphVersion: checked.version,
    input: checked.input,
    idempotencyKey: request.idempotencyKey,
    firstEvent: runQueuedEvent(checked.graph),
    maxQueued: request.maxQueued,
  });
}
