// vitest globalSetup: one migrated template database per test run on the server TEST_DATABASE_URL
// names; each test file clones its own database from it (createTestDatabase, useTestDatabase).
import { TEST_ENV, createTemplateDatabase, dropDatabase, testServerUrl } from './test-database.js';

export default async function setup(): Promise<() => Promise<void>> {
  const adminUrl = testServerUrl();
  const template = await createTemplateDatabase(adminUrl);
  process.env[TEST_ENV.adminUrl] = adminUrl;
  process.env[TEST_ENV.template] = template;
  return async () => {
    await dropDatabase(adminUrl, template).catch(() => undefined);
  };
}
