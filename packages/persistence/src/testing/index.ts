export {
  TEST_ENV,
  createTemplateDatabase,
  createTestDatabase,
  dropDatabase,
  openTestDatabase,
  refuseConnections,
  testServerUrl,
  withDatabase,
  type TestDatabase,
  type TestDatabaseWithClient,
} from './test-database.js';
export { type FileHooks, type UsedTestDatabase, useTestDatabase } from './use-test-database.js';
export { createRepos, seedRun, type Repos } from './fixtures.js';
export { assertEndedRun, readRunEvents, type RunEventRow } from './run-invariants.js';
