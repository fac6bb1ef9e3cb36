export { busConfig, type BusConfig, type NatsCredentials } from './bus-config.js';
export { databaseUrl, formatEnvError, intFromEnv, loadEnv, logLevel } from './env.js';
export { createLogger, type Logger } from './logger.js';
export { onShutdown, type ShutdownHandler, type ShutdownOptions } from './shutdown.js';
