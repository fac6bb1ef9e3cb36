export {
  TEST_ENV,
  createTemplateDatabase,
  createTestDatabase,
  dropDatabase,
  openTestDatabase,
  refuseConnections,
  withDatabase,
  type TestDatabase,
  type TestDatabaseWithClient,
} from './test-database.js';
export {
  checkEmbeddedPostgresReachable,
  freePort,
  occupyPort,
  startEmbedded,
  startTestServer,
  type TestServer,
} from './test-server.js';
export { createRepos, seedRun, type Repos } from './fixtures.js';
export { assertEndedRun, readRunEvents, type RunEventRow } from './run-invariants.js';
export { waitFor } from './wait-for.js';
export { startPostgresProxy, type PostgresProxy } from './postgres-proxy.js';
