export {
  createOutboxWorker,
  type BatchResult,
  type OutboxLogger,
  type OutboxWorker,
  type OutboxWorkerDeps,
  type OutboxWorkerOptions,
} from './outbox-worker.js';
export { createOutboxMetrics, type OutboxMetrics, type OutboxMetricsHooks } from './metrics.js';
export {
  USAGE,
  UsageError,
  needsDatabase,
  runOutboxCli,
  type CliDeps,
  type CliIo,
} from './outbox-cli.js';
