// What every worker script shares: its argv config, its event channel to the test (one JSON object per stdout
// line; stdout writes to a pipe are synchronous, so an event written before a SIGKILL is never lost), the test's
// commands (one word per stdin line) and the code an error is reported by.
'use strict';

const { RunLockedError, SavepointError } = require('@savepoint/core');

const config = JSON.parse(process.argv[2]);

function emit(event) {
  process.stdout.write(`${JSON.stringify({ pid: process.pid, ...event })}\n`);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const codeOf = (error) => (SavepointError.isInstance(error) ? error.code : (error && error.name) || String(error));

const waiting = new Map();
const received = new Set();
let listening = false;

function listen() {
  listening = true;
  let buffered = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk) => {
    buffered += chunk;
    let newline;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const name = buffered.slice(0, newline).trim();
      buffered = buffered.slice(newline + 1);
      received.add(name);
      for (const resolve of waiting.get(name) ?? []) resolve();
      waiting.delete(name);
    }
  });
}

/** Resolves once the test has sent `name` (before or after this call). Reads stdin only from the first call on. */
function command(name) {
  if (!listening) listen();
  if (received.has(name)) return Promise.resolve();
  return new Promise((resolve) => waiting.set(name, [...(waiting.get(name) ?? []), resolve]));
}

/**
 * Resumes `runId`, retrying every 20 ms while another process's lease holds it (up to `config.retryLockedForMs`).
 * Polling rather than `waitForLease`: a lease released early (a handoff) must be taken at once, not when it would
 * have expired.
 */
async function resumeWhenFree(wf, runId) {
  const deadline = Date.now() + config.retryLockedForMs;
  for (;;) {
    try {
      return await wf.resume({ runId });
    } catch (error) {
      if (!RunLockedError.isInstance(error) || Date.now() > deadline) throw error;
      await sleep(20);
    }
  }
}

/** Runs the worker's main function; a crash is reported as a `crashed` event and exit code 1. */
function runMain(main) {
  main().then(
    () => process.exit(process.exitCode ?? 0),
    (error) => {
      emit({ event: 'crashed', error: codeOf(error), message: error && error.stack });
      process.exit(1);
    },
  );
}

module.exports = { codeOf, command, config, emit, resumeWhenFree, runMain, sleep };
