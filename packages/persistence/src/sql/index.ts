// Every statement the repositories run, each in its own file with the invariant it keeps. Exported
// for benchmarks and operators that want to run the exact SQL the repositories run (`.text`), or
// run it the way they do (`query` from the package's main entry).
export { APPEND_EVENTS, APPEND_OUTCOME } from './append-events.js';
export { CLAIM_OUTBOX } from './claim-outbox.js';
export { CLAIM_QUEUED_RUNS, LOCK_CLAIMS } from './claim-queued-runs.js';
export { INSERT_RUN, LOCK_TENANT_QUOTA } from './create-run.js';
export { DELETE_PUBLISHED_OUTBOX } from './delete-published-outbox.js';
export { COUNT_PARKED_RUNS, LIST_PARKED_RUNS } from './list-parked-runs.js';
export { LIST_RUNS } from './list-runs.js';
export { MARK_PUBLISHED } from './mark-published.js';
export { NOTIFY } from './notify.js';
export { READ_BUS_SIGNING_KEY } from './read-bus-signing-key.js';
export { READ_CANCEL_REQUESTS } from './read-cancel-requests.js';
export { READ_EVENTS, READ_EVENTS_WITHIN_BYTES } from './read-events.js';
export { READ_NEWEST_GRAPHS } from './read-newest-graphs.js';
export { READ_OUTBOX_LAG } from './read-outbox-lag.js';
export { READ_RUN, READ_RUN_BY_ID, READ_RUN_BY_IDEMPOTENCY_KEY } from './read-run.js';
export { RECORD_PUBLISH_FAILURE } from './record-publish-failure.js';
export { REGISTER_GRAPHS } from './register-graphs.js';
export { RELEASE_CLAIMED_RUNS } from './release-claimed-runs.js';
export { RENEW_LEASES } from './renew-leases.js';
export { REQUEST_CANCEL } from './request-cancel.js';
export { ROTATE_BUS_SIGNING_KEY } from './rotate-bus-signing-key.js';
export { runColumns } from './run-columns.js';
export { statement, type Statement } from './statement.js';
export { TAKE_EXPIRED_LEASES } from './take-expired-leases.js';
export { UNPARK_ALL_RUNS, UNPARK_RUN } from './unpark-runs.js';
