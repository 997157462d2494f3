// One crash-test worker (test/crash.test.ts): runs or resumes ONE run of a 6-node workflow through the BUILT
// packages, against SQLite (one db file), the file backend (one directory), PostgreSQL (one schema) or Redis (one
// key prefix), until the test SIGKILLs it, it kills itself at the adapter call the test chose (`dieAt`), or the run
// ends. Every node execution appends (and fsyncs) a journal line when it starts and one before it returns, so a
// kill can hide neither an execution nor the one that produced a committed output.
// Events on stdout, one JSON object per line: ready, locked (RUN_LOCKED, retrying), stuck (still RUN_LOCKED after
// `lockedGiveUpMs`), result, crashed, and the adapter probe's lease events.
'use strict';

const fs = require('node:fs');
const { randomBytes } = require('node:crypto');
const { Flow, FunctionNode, RunLockedError, Workflow } = require('@savepoint/core');
const { instrument } = require('./adapter-probe.cjs');
const { openBackend } = require('./open-backend.cjs');
const { codeOf, config, emit, runMain, sleep } = require('./worker-kit.cjs');

/** Appends one line and fsyncs it: the record exists on disk before the node's output can be committed. */
function journal(line) {
  const fd = fs.openSync(config.journal, 'a');
  try {
    fs.writeSync(fd, `${line}\n`);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * A diamond and a chain: a → (b, c) → d → e → f. Each node returns `{ v, tok }`: `v` is the arithmetic the test
 * checks, `tok` names this very execution (pid.attempt.random), so the test can tell which execution produced the
 * output a checkpoint recorded and which tokens each execution received as input. Journal line:
 * `<runId> <nodeId> <attempt> <idempotencyKey> start|end <tok> <input tokens, comma-separated, or ->`.
 */
const NODES = [
  { id: 'a', dependsOn: [], ms: 25, fn: (x) => x + 1 },
  { id: 'b', dependsOn: ['a'], ms: 80, fn: (i) => i.v * 2 },
  { id: 'c', dependsOn: ['a'], ms: 40, fn: (i) => i.v + 10 },
  { id: 'd', dependsOn: ['b', 'c'], ms: 3, fn: (i) => i.b.v + i.c.v },
  { id: 'e', dependsOn: ['d'], ms: 70, fn: (i) => i.v * 3 },
  { id: 'f', dependsOn: ['e'], ms: 30, fn: (i) => i.v - 1 },
];

function inputTokens(node, input) {
  if (node.dependsOn.length === 0) return '-';
  if (node.dependsOn.length === 1) return input.tok;
  return node.dependsOn.map((dep) => input[dep].tok).join(',');
}

function workflow(backend) {
  const nodes = NODES.map(
    (node) =>
      new FunctionNode({
        id: node.id,
        dependsOn: node.dependsOn,
        run: async (input, ctx) => {
          const tok = `${process.pid}.${ctx.attempt}.${randomBytes(4).toString('hex')}`;
          const line = (phase) => journal([ctx.runId, node.id, ctx.attempt, ctx.idempotencyKey, phase, tok, inputTokens(node, input)].join(' '));
          line('start');
          await sleep(node.ms);
          const out = { v: node.fn(input), tok };
          line('end');
          return out;
        },
      }),
  );
  return new Workflow({
    flow: new Flow({ id: config.flowId, nodes }),
    checkpoint: { enabled: true, backend, durability: 'sync', leaseTtlMs: config.leaseTtlMs, maxCheckpoints: 1_000_000 },
  });
}

async function main() {
  const backend = instrument(openBackend(config), { dieAt: config.dieAt, emit });
  const wf = workflow(backend);
  const executed = [];
  wf.on('node_started', (event) => executed.push(event.nodeId));
  try {
    await wf.store.setup();
    emit({ event: 'ready' });
    let lockedSince;
    for (;;) {
      try {
        // Runs the first time (no checkpoint yet, e.g. the previous worker died before its first commit), resumes after.
        const head = await wf.store.getHead(config.runId);
        const result = head === null ? await wf.run(config.input, { runId: config.runId }) : await wf.resume({ runId: config.runId });
        emit({
          event: 'result',
          runId: result.runId,
          status: result.status,
          output: result.output,
          error: result.error ? codeOf(result.error) : undefined,
          checkpointId: result.checkpointId,
          executed,
        });
        return;
      } catch (error) {
        if (!RunLockedError.isInstance(error)) throw error;
        lockedSince ??= Date.now();
        // Only a lease nobody renews can hold the run this long here: the test's own leases are 300 ms.
        if (Date.now() - lockedSince > config.lockedGiveUpMs) {
          emit({ event: 'stuck', lockedMs: Date.now() - lockedSince, message: error.message });
          process.exitCode = 3;
          return;
        }
        emit({ event: 'locked' });
        await sleep(20);
      }
    }
  } finally {
    await backend.close?.(); // the file backend holds nothing open
  }
}

runMain(main);
