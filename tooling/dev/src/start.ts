// `pnpm start`: the one-command demo. Builds what is missing, starts an embedded PostgreSQL when
// DATABASE_URL is unset (data kept in .runstream/pg and reused), migrates, runs the api, the outbox
// worker and the run-worker with readable logs, and stops all of it on Ctrl-C.
//
// Two processes: this front one, attached to the terminal, and a supervisor it starts in a process
// group of its own. Ctrl-C reaches the whole foreground group at once; were PostgreSQL and the apps
// in it, PostgreSQL would stop while the apps still drain their work. The front forwards one signal,
// and the supervisor stops the apps first and PostgreSQL last.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { supervise } from './supervisor.js';

const SUPERVISOR = 'RUNSTREAM_START_SUPERVISOR';

function front(): void {
  const child = spawn(
    process.execPath,
    [...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)],
    { stdio: 'inherit', detached: true, env: { ...process.env, [SUPERVISOR]: '1' } },
  );
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      // A second Ctrl-C asks the supervisor to stop at once; it counts signals itself.
      if (child.exitCode === null) child.kill(signal === 'SIGHUP' ? 'SIGTERM' : signal);
    });
  }
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

if (process.env[SUPERVISOR] === '1') {
  delete process.env[SUPERVISOR];
  await supervise();
} else {
  front();
}
