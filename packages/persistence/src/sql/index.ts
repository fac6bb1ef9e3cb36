// The statements that matter, written out once. Exported for benchmarks and operators that want to
// run the exact SQL the repositories run.
export { APPEND_EVENTS_SQL, APPEND_OUTCOME_SQL } from './append-events.js';
export { READ_EVENTS_SQL, READ_EVENTS_WITHIN_BYTES_SQL } from './read-events.js';
export { CLAIM_LOCK_SQL, CLAIM_QUEUED_RUNS_SQL } from './claim-queued-runs.js';
export { NEWEST_GRAPHS_SQL, REGISTER_GRAPHS_SQL } from './graph-registrations.js';
