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
export { accepts, freePort } from './net.js';
export { postgresApplicationName } from './postgres-application-name.js';
export {
  startTcpProxy,
  type ChunkFilter,
  type NewConnectionMode,
  type ResetOptions,
  type TcpProxy,
  type TcpProxyCounters,
  type TcpProxyOptions,
} from './tcp-proxy.js';
