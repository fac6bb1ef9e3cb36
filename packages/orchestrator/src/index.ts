export {
  defineGraph,
  type BranchEdge,
  type GraphDefinition,
  type GraphEdge,
  type GraphNode,
  type NodeContext,
  type NodeEventBody,
  type NodeTracer,
  type SequenceEdge,
} from './graph.js';
export {
  GraphDefinitionError,
  GraphInputError,
  NodeError,
  RunLimitError,
  type GraphInputErrorCode,
  type RunLimit,
} from './errors.js';
export { backoffDelay, type BackoffOptions } from './backoff.js';
export { createDatabaseHealth, type DatabaseHealth } from './database-health.js';
export {
  createDefaultGraphRegistry,
  createGraphRegistry,
  type GraphRegistry,
} from './graph-registry.js';
export { DemoInputSchema, demoGraph, type DemoInput } from './graphs/demo.js';
export { SyntheticInputSchema, syntheticGraph, type SyntheticInput } from './graphs/synthetic.js';
export { executeRun, toRunError, type ExecuteRunOptions, type RunOutcome } from './execute-run.js';
export { RunAbort, type RunAbortCode } from './run-abort.js';
export {
  TracerClosedError,
  createTracer,
  type TerminalEventBody,
  type Tracer,
  type RunLimits,
  type TracerDeps,
  type TracerFence,
  type TracerOptions,
  type Wakeup,
} from './tracer.js';
export {
  DEFAULT_RUN_LIMITS,
  createRunWorker,
  type RunWorker,
  type RunWorkerDeps,
  type RunWorkerOptions,
  type WorkerLogger,
} from './run-worker.js';
export { enqueueRun, type EnqueueRunDeps, type EnqueueRunRequest } from './enqueue-run.js';
