export { busConfig, describeBus, type BusConfig, type NatsCredentials } from './bus-config.js';
export { databaseUrl, envError, formatEnvError, intFromEnv, loadEnv, logLevel } from './env.js';
export { describeStartupFailure, guardStartup } from './guard-startup.js';
export {
  startHealthServer,
  type HealthServer,
  type HealthServerOptions,
  type MetricsSource,
} from './health-server.js';
export { createLogger, type Logger } from './logger.js';
export {
  SHUTDOWN_DEADLINE_MS,
  STOP_WITHIN_MS,
  onShutdown,
  type Shutdown,
  type ShutdownHandler,
  type ShutdownOptions,
} from './shutdown.js';
export {
  StartupError,
  listenFailure,
  reasonOf,
  redactUrl,
  unreachable,
  type StartupErrorCode,
} from './startup-error.js';
export {
  probe,
  waitForDependency,
  type Dependency,
  type DependencyLogger,
  type WaitForDependencyOptions,
} from './wait-for-dependency.js';
