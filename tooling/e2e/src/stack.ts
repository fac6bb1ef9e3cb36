import { type TestDatabase, createTestDatabase } from '@runstream/persistence/testing';
import { type Stack as AppStack, startStack as startApps } from '@runstream/testkit';

/** The three built processes (the kit's stack) on a test database of their own. */
export interface Stack extends AppStack {
  database: TestDatabase;
}

export async function startStack(): Promise<Stack> {
  const database = await createTestDatabase();
  const apps = await startApps({ databaseUrl: database.url }).catch(async (error: unknown) => {
    await database.drop();
    throw error;
  });
  return {
    ...apps,
    database,
    async stop() {
      await apps.stop();
      await database.drop();
    },
  };
}
