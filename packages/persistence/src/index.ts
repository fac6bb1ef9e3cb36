export { loadBusSigningKey, rotateBusSigningKey } from './bus-signing-key.js';
export {
  createDatabase,
  execute,
  query,
  transaction,
  type Database,
  type DatabaseOptions,
  type Queryable,
  type TransactionClient,
} from './database.js';
export {
  IdempotentRunVanishedError,
  LeaseLostError,
  PersistenceError,
  QuotaExceededError,
  RunNotFoundError,
  RunTerminalError,
  isTransientDatabaseError,
  type PersistenceErrorCode,
} from './errors.js';
export {
  GRAPHS_CHANGED_CHANNEL,
  createGraphRegistryRepo,
  type GraphRegistration,
  type GraphRegistryRepo,
  type GraphRegistryRepoDeps,
  type RegisterOptions,
  type RegisteredGraph,
} from './graph-registry-repo.js';
export { isRunId, newRunId } from './ids.js';
export {
  DEFAULT_MIGRATIONS_DIR,
  migrate,
  type MigrateOptions,
  type MigrateResult,
} from './migrate.js';
export {
  createOutboxRepo,
  type ClaimOptions,
  type ClaimedRun,
  type OutboxQueryable,
  type OutboxRepo,
  type OutboxRepoDeps,
  type ParkedRun,
} from './outbox-repo.js';
export {
  InvalidCursorError,
  createRunRepo,
  type CreateRunInput,
  type CreateRunResult,
  type JsonValue,
  type ListRunsQuery,
  type RunPage,
  type RunRecord,
  type RunRepo,
  type RunRepoDeps,
  type RunStatus,
} from './run-repo.js';
export {
  createRunLeaseRepo,
  type ClaimQueuedOptions,
  type RunLeaseRepo,
  type RunLeaseRepoDeps,
  type ServedGraph,
  type TakenRun,
} from './run-lease-repo.js';
export { toStorableJson } from './storable-json.js';
export {
  MAX_SEQ,
  createRunEventRepo,
  toEnvelope,
  type AppendFence,
  type AppendResult,
  type EventRow,
  type EventVisibility,
  type NewEvent,
  type ReadPageOptions,
  type RunEventRepo,
  type RunEventRepoDeps,
} from './run-event-repo.js';
export { OUTBOX_WAKEUP_CHANNEL, createOutboxWakeup, type OutboxWakeup } from './outbox-wakeup.js';
export { createRepositories, type Repositories } from './repositories.js';
