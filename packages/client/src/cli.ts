#!/usr/bin/env node
// The `runstream` bin: wires the process (argv, env, stdio, Ctrl-C) to runCli.
import { runCli } from './run-cli.js';

const controller = new AbortController();
process.once('SIGINT', () => controller.abort(new Error('interrupted')));
// A closed pipe (`runstream tail x | head`) is a normal end for a command-line tool.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  signal: controller.signal,
});
