#!/usr/bin/env node
import { runCli } from './cli.js';

// The exit code is set once stdout has drained; then the process exits even if a user's module left a pool open.
void runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env }).then((code) => {
  process.stdout.write('', () => process.exit(code));
});
