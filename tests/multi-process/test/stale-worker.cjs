// One stale-writer-test worker (test/stale-writer.test.ts), through the BUILT packages: several runs of an 8-node
// chain (durability 'sync': a commit after every node) at once, in one process.
//   mode 'start':  starts each run after its own delay and is frozen (SIGSTOP) `freezeAfterMs` after its first
//                  node started (event `first-node`); the test lets another worker take the runs over, then wakes
//                  it (SIGCONT) and it carries on. On most backends the test sends the SIGSTOP, so it lands
//                  anywhere; with `freezeSelf` (SQLite) this worker sends it from a timer, between two steps of the
//                  event loop, so never inside a synchronous SQLite transaction: frozen there, it would keep every
//                  other process out of the database and nobody could take its runs over.
//   mode 'resume': takes every run over (starting one nobody had committed yet), retrying while it is locked;
//                  then, on the test's `again`, resumes every run once more: that pass must execute nothing.
// Events: ready, first-node, freezing, before (the run's completed nodes when this worker got to it), result,
// rejected (each with its `pass`: start, rescue or again), rescued, done, and the adapter probe's lease events
// (the fencing tokens granted).
'use strict';

const { randomBytes } = require('node:crypto');
const { BackendUnavailableError, Flow, FunctionNode, InvalidArgumentError, NotFoundError, RunLockedError, Workflow } = require('@savepoint/core');
const { instrument } = require('./adapter-probe.cjs');
const { openBackend } = require('./open-backend.cjs');
const { codeOf, command, config, emit, runMain, sleep } = require('./worker-kit.cjs');

const NODES = 8;

/** n1 → n2 → … → n8, each `v = (previous * 3 + i) mod 1000003` (the test recomputes it) and a token naming the execution. */
function workflow(backend, executed) {
  const nodes = Array.from(
    { length: NODES },
    (_, i) =>
      new FunctionNode({
        id: `n${i + 1}`,
        dependsOn: i === 0 ? [] : [`n${i}`],
        run: async (input, ctx) => {
          executed.get(ctx.runId)?.push(`n${i + 1}`);
          await sleep(config.nodeMs);
          const previous = i === 0 ? input : input.v;
          return { v: (previous * 3 + i + 1) % 1_000_003, tok: `${process.pid}.${randomBytes(3).toString('hex')}` };
        },
      }),
  );
  return new Workflow({
    flow: new Flow({ id: 'stale-writer', nodes }),
    checkpoint: { enabled: true, backend, durability: 'sync', leaseTtlMs: config.leaseTtlMs, maxCheckpoints: 1_000_000 },
  });
}

/** Runs `go(run)` for every run at once and reports each outcome, with the nodes this pass executed. */
async function pass(name, wf, executed, go) {
  await Promise.all(
    config.runs.map(async (run) => {
      executed.set(run.runId, []);
      try {
        const result = await go(run);
        const error = result.error ? codeOf(result.error) : undefined;
        emit({ event: 'result', pass: name, runId: run.runId, status: result.status, error, output: result.output, checkpointId: result.checkpointId, executed: executed.get(run.runId) });
      } catch (error) {
        emit({ event: 'rejected', pass: name, runId: run.runId, error: codeOf(error), message: error && error.message, executed: executed.get(run.runId) });
      }
    }),
  );
}

async function start(wf, run) {
  await sleep(run.startAfterMs);
  return wf.run(run.input, { runId: run.runId });
}

/** Resumes the run, or starts it when it has no checkpoint yet; retries while another worker's lease holds it. */
async function resume(wf, run, passName) {
  const deadline = Date.now() + config.retryLockedForMs;
  for (;;) {
    try {
      const head = await wf.store.getLatest({ runId: run.runId });
      emit({ event: 'before', pass: passName, runId: run.runId, completed: head ? head.completedNodeIds : [] });
      return head === null ? await wf.run(run.input, { runId: run.runId }) : await wf.resume({ runId: run.runId });
    } catch (error) {
      // RUN_LOCKED: the frozen worker's lease has not expired yet. NOT_FOUND / INVALID_ARGUMENT: it committed its
      // first checkpoint (or had not) between our look and our call. BACKEND_UNAVAILABLE: a passing storage
      // failure, which a real worker retries too.
      const retry = [RunLockedError, NotFoundError, InvalidArgumentError, BackendUnavailableError].some((type) => type.isInstance(error));
      if (!retry || Date.now() > deadline) throw error;
      await sleep(20);
    }
  }
}

async function main() {
  const backend = instrument(openBackend(config), { emit });
  const executed = new Map();
  const wf = workflow(backend, executed);
  try {
    await wf.store.setup();
    emit({ event: 'ready' });
    if (config.mode === 'start') {
      const firstNode = new Promise((resolve) => {
        const off = wf.on('node_started', () => {
          off();
          emit({ event: 'first-node' });
          resolve();
        });
      });
      const frozen = !config.freezeSelf
        ? Promise.resolve()
        : firstNode
            .then(() => sleep(config.freezeAfterMs))
            .then(() => {
              emit({ event: 'freezing' });
              process.kill(process.pid, 'SIGSTOP'); // returns once the test has sent SIGCONT
            });
      await pass('start', wf, executed, (run) => start(wf, run));
      await frozen;
    } else {
      await pass('rescue', wf, executed, (run) => resume(wf, run, 'rescue'));
      emit({ event: 'rescued' });
      await command('again');
      await pass('again', wf, executed, (run) => resume(wf, run, 'again'));
    }
    emit({ event: 'done' });
  } finally {
    await backend.close?.();
  }
}

runMain(main);
