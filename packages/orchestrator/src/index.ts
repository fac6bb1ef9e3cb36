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
  GraphModuleError,
  NodeError,
  RunLimitError,
  type GraphInputErrorCode,
  type GraphModuleErrorCode,
  type RunLimit,
} from './errors.js';
export { backoffDelay, type BackoffOptions } from './backoff.js';
export { createDatabaseHealth, type DatabaseHealth } from './database-health.js';
export { createGraphRegistry, type GraphRegistry } from './graph-registry.js';
export { graphRegistration } from './graph-registration.js';
export { loadGraphModules, type LoadGraphModulesOptions } from './load-graph-modules.js';
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
// The zod a graph module defines its input with: a module needs @runstream/orchestrator alone,
// and its schemas are always of the version the worker turns into JSON Schema.
export { z } from 'zod';
