export {
  type BusKind,
  type Cluster,
  type ClusterOptions,
  type ProcessLinks,
  ROLES,
  type Role,
  type Tenant,
  startCluster,
} from './cluster.js';
export { exitWith } from './exit-with.js';
export {
  type AuthFloodOptions,
  type AuthFloodResult,
  type Slowloris,
  type SlowlorisOptions,
  type SlowlorisResult,
  floodWrongKeys,
  startSlowloris,
} from './hostile-clients.js';
export {
  type CanarySample,
  type LiveCanary,
  type LiveCanaryOptions,
  healToLiveOf,
  startLiveCanary,
} from './live-canary.js';
export { between, seededRandom } from './random.js';
export { type ProbeOptions, type ProbeResult, now, probeRun } from './sse-probe.js';
