// `reset` empties the record of skipped suites (first step of `pnpm test`); `report` prints the one
// closing line about them, and with `--strict` exits 1 when anything was skipped (.ci/run).
import { clearSkips, readSkips, skipsLine } from './skipped.js';

const [command, flag] = process.argv.slice(2);
if (command === 'reset') {
  clearSkips();
} else if (command === 'report') {
  const line = skipsLine(readSkips());
  if (line) process.stdout.write(`${line}\n`);
  if (line && flag === '--strict') process.exitCode = 1;
} else {
  process.stderr.write('usage: skipped-cli reset | report [--strict]\n');
  process.exitCode = 2;
}
