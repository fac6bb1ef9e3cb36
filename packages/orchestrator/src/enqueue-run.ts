import { runQueuedEvent } from '@runstream/events';
import type { CreateRunResult, RunRepo } from '@runstream/persistence';

import type { GraphRegistry } from './graph-registry.js';

export interface EnqueueRunDeps {
  runs: Pick<RunRepo, 'create'>;
  registry: GraphRegistry;
}

export interface EnqueueRunRequest {
  tenant: string;
  graph: string;
  input?: unknown;
  idempotencyKey?: string | undefined;
}

/**
 * Creates a queued run with its first event, run.queued, after its input passed the graph's
 * schema. A refused request (GraphInputError) has written nothing: the check comes first.
 */
export async function enqueueRun(
  deps: EnqueueRunDeps,
  request: EnqueueRunRequest,
): Promise<CreateRunResult> {
  const input = deps.registry.parseInput(request.graph, request.input) as Record<string, unknown>;
  return deps.runs.create({
    tenant: request.tenant,
    graph: request.graph,
    input,
    idempotencyKey: request.idempotencyKey,
    firstEvent: runQueuedEvent(request.graph),
  });
}
