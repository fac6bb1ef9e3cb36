// A process built the way every main.ts is, for the runtime's own process tests:
// `node --import tsx process-fixture.ts <scenario>`.
import { setTimeout as sleep } from 'node:timers/promises';

import {
  StartupError,
  createLogger,
  guardStartup,
  onShutdown,
  waitForDependency,
} from '../index.js';

const startup = guardStartup();
const logger = createLogger('fixture', 'warn');
const scenario = process.argv[2];

if (scenario === 'startup-error') {
  await sleep(1);
  throw new StartupError('INVALID_CONFIG', 'FIXTURE_PORT', 'must be a whole number from 0 to 9');
}
if (scenario === 'startup-crash') {
  await sleep(1);
  throw new Error('step failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:1') });
}

const shutdown = onShutdown(
  [
    {
      name: 'step',
      run: () => {
        if (scenario === 'failed-step') throw new Error('the step broke');
      },
    },
  ],
  { logger },
);

if (scenario === 'wait') {
  process.stdout.write('waiting\n');
  await waitForDependency(
    { name: 'database', variable: 'DATABASE_URL', check: () => new Promise(() => undefined) },
    { logger, signal: shutdown.signal, checkTimeoutMs: 50 },
  );
}
startup.done();
process.stdout.write('ready\n');
// Stays up until a signal stops it.
setInterval(() => undefined, 60_000);
