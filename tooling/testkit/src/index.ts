export {
  type BusMessageChaos,
  type BusMessageChaosCounters,
  type BusMessageChaosOptions,
  type BusMessageChaosRates,
  type Frame,
  type Framer,
  createBusMessageChaos,
  frameFilter,
  natsFramer,
  postgresFramer,
} from './bus-message-chaos.js';
export { postgresApplicationName } from './postgres-application-name.js';
export { accepts, freePort, occupyPort, portFree } from './net.js';
export {
  checkEmbeddedPostgresReachable,
  startEmbeddedPostgres,
  startTestPostgres,
  type EmbeddedPostgres,
  type EmbeddedPostgresOptions,
  type TestPostgres,
} from './postgres.js';
export {
  SBIN_DIRS,
  findNatsServerBinary,
  natsForTests,
  natsSource,
  natsUrlForTests,
  startNatsServer,
  type NatsSource,
  type TestNatsServer,
  type TestNatsServerOptions,
} from './nats.js';
export { type Skip, clearSkips, readSkips, recordSkip, skipsLine } from './skipped.js';
export { type Stack, type StackOptions, startStack, waitForApi, waitForGraphs } from './stack.js';
export {
  APPS,
  ROOT,
  appMain,
  descendants,
  isAlive,
  logged,
  processGroup,
  running,
  spawnApp,
  spawnNode,
  stop,
  type AppName,
  type ProcessGroup,
  type Spawned,
} from './process.js';
export {
  startTcpProxy,
  type ChunkFilter,
  type NewConnectionMode,
  type ResetOptions,
  type TcpProxy,
  type TcpProxyCounters,
  type TcpProxyOptions,
} from './tcp-proxy.js';
export { pause, waitFor } from './wait.js';
export { startPostgresProxy, type PostgresProxy } from './postgres-proxy.js';
export { CHROMIUM, CHROMIUM_FLAGS } from './chromium.js';
