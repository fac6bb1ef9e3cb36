export { accepts, freePort } from './net.js';
export {
  startTcpProxy,
  type NewConnectionMode,
  type TcpProxy,
  type TcpProxyCounters,
  type TcpProxyOptions,
} from './tcp-proxy.js';
