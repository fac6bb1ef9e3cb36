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
  type NewConnectionMode,
  type TcpProxy,
  type TcpProxyCounters,
  type TcpProxyOptions,
} from './tcp-proxy.js';
export { pause, waitFor } from './wait.js';
