// vitest globalSetup: one PostgreSQL server and one migrated template per test run; each test
// file clones its own database from the template (see createTestDatabase).
import { TEST_ENV, createTemplateDatabase, dropDatabase } from './test-database.js';
import { startTestServer } from './test-server.js';

export default async function setup(): Promise<() => Promise<void>> {
  const server = await startTestServer((line) => process.stderr.write(`[test-db] ${line}\n`));
  const template = await createTemplateDatabase(server.adminUrl);
  process.env[TEST_ENV.adminUrl] = server.adminUrl;
  process.env[TEST_ENV.template] = template;
  return async () => {
    await dropDatabase(server.adminUrl, template).catch(() => undefined);
    await server.stop();
  };
}
