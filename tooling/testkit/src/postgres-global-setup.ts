// vitest globalSetup, listed before @runstream/persistence/testing/global-setup: when
// TEST_DATABASE_URL is unset, starts a PostgreSQL for the run (Testcontainers or embedded) and
// points TEST_DATABASE_URL at it, so that the published template setup finds a server either way.
import { startTestPostgres } from './postgres.js';

export default async function setup(): Promise<() => Promise<void>> {
  const server = await startTestPostgres((line) => process.stderr.write(`[test-db] ${line}\n`));
  process.env.TEST_DATABASE_URL = server.adminUrl;
  return () => server.stop();
}
