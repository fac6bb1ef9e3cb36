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
export { accepts, freePort, portFree } from './net.js';
export {
  checkEmbeddedPostgresReachable,
  startEmbeddedPostgres,
  type EmbeddedPostgres,
  type EmbeddedPostgresOptions,
} from './postgres.js';
export {
  APPS,
  ROOT,
  appMain,
  descendants,
  isAlive,
  running,
  spawnApp,
  spawnNode,
  stop,
  type AppName,
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
