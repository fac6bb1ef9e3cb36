export {
  busConfig,
  databaseUrl,
  formatEnvError,
  intFromEnv,
  loadEnv,
  logLevel,
  type BusConfig,
} from './env.js';
export { createLogger, type Logger } from './logger.js';
export { onShutdown, type ShutdownHandler, type ShutdownOptions } from './shutdown.js';
