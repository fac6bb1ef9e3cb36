// A team's own run-worker, built only on the published packages, serving its own graphs (here
// echo) and nothing else:
//   DATABASE_URL=postgres://... node examples/team-worker.mjs
import { createGraphRegistry, createRunWorker } from '@runstream/orchestrator';
import { createDatabase, createOutboxWakeup, createRepositories } from '@runstream/persistence';

import echo from './echo-graph.mjs';

const db = createDatabase({ url: process.env.DATABASE_URL, applicationName: 'team-worker' });
const repos = createRepositories(db);
const log = (level) => (fields, message) =>
  console.log(JSON.stringify({ level, message, ...fields }));
const worker = createRunWorker({
  leases: repos.leases,
  events: repos.events,
  graphs: repos.graphs, // where it registers what it serves
  wakeup: createOutboxWakeup(db.pool),
  registry: createGraphRegistry([echo]),
  logger: { info: log('info'), warn: log('warn'), error: log('error') },
});
worker.start();
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, () => void worker.stop().then(() => db.close()));
}
