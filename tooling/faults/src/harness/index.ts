export {
  type ChaosProxy,
  type ChaosRates,
  natsFramer,
  postgresFramer,
  startChaosProxy,
} from './chaos-proxy.js';
export {
  type BusKind,
  type Cluster,
  type ClusterOptions,
  ROLES,
  type Role,
  startCluster,
} from './cluster.js';
export { exitWith } from './exit-with.js';
export { type NatsServer, startNatsServer } from './nats-server.js';
export { type PostgresServer, startPostgresServer } from './postgres-server.js';
export { between, seededRandom } from './random.js';
export { type ProbeOptions, type ProbeResult, now, probeRun } from './sse-probe.js';
export { freePort, pause, waitFor } from './wait.js';
