// A worker for the retry crash test (test/retry-crash.test.ts), through the BUILT packages. It runs (or resumes) a
// run of a → b where b fails every attempt before `succeedAt` (never succeeds without it) and retries with
// `config.retry` (jitter 0.2, drawn from a seeded random). Two modes:
//  - `serve` (process A): starts the run; every back-off is reported (`backoff`, with when the next attempt is due)
//    once it is committed; the test SIGKILLs the process during one of them.
//  - `take` (process B): started alongside A, resumes the run once told `go` (right after the kill), retrying while the dead worker's lease still holds it, and reports the
//    result and every back-off wait its clock is asked for (`wait`), in order with its attempts.
// Every node execution is appended to a journal file shared by both processes before the node does anything.
'use strict';

const { appendFileSync } = require('node:fs');
const { Flow, FunctionNode, systemClock, Workflow } = require('@savepoint/core');
const { withBackend } = require('./open-backend.cjs');
const { codeOf, command, config, emit, resumeWhenFree, runMain } = require('./worker-kit.cjs');

/** mulberry32 over the trial's seed: the jitter each process draws is part of the replayable plan. */
function seededRandom(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `trial`: the run's `retry` policy and `succeedAt`. */
function workflow(backend, clock, trial) {
  const journal = (node, ctx) =>
    appendFileSync(
      config.journal,
      `${JSON.stringify({ runId: ctx.runId, node, pid: process.pid, attempt: ctx.attempt, isResumed: ctx.isResumed, key: ctx.idempotencyKey, at: Date.now() })}\n`,
    );
  const a = new FunctionNode({ id: 'a', run: (input, ctx) => (journal('a', ctx), input + 1) });
  const b = new FunctionNode({
    id: 'b',
    dependsOn: ['a'],
    retry: { ...trial.retry, jitter: 0.2 },
    run: (input, ctx) => {
      journal('b', ctx);
      emit({ event: 'attempt', runId: ctx.runId, attempt: ctx.attempt });
      if (trial.succeedAt === undefined || ctx.attempt < trial.succeedAt) throw new Error(`attempt ${ctx.attempt} failed`);
      return input * 2;
    },
  });
  const wf = new Workflow({
    flow: new Flow({ id: 'retry-crash', nodes: [a, b] }),
    checkpoint: { enabled: true, backend, leaseTtlMs: config.leaseTtlMs },
    clock,
  });
  wf.on('node_retrying', (event) => emit({ event: 'backoff', runId: event.runId, attempt: event.data.attempt, dueAt: event.data.dueAt, delayMs: event.data.delayMs }));
  return wf;
}

function report(runId, result) {
  emit({ event: 'result', runId, status: result.status, output: result.output, error: result.error ? codeOf(result.error.cause ?? result.error) : undefined });
}

const modes = {
  async serve(backend) {
    const wf = workflow(backend, { ...systemClock, random: seededRandom(config.seed) }, config);
    report(config.runId, await wf.run(config.input, { runId: config.runId }));
  },

  async take(backend) {
    await workflow(backend, systemClock, {}).store.setup();
    emit({ event: 'ready' });
    // Resumes each trial's run (in parallel) once the test says `go <runId>`; the test kills this process at the end.
    await Promise.all(config.runIds.map((runId) => command(`go ${runId}`).then(() => take(backend, runId))));
  },
};

/** Resumes `runId` with a workflow (and clock) of its own, so every event is the run's. */
async function take(backend, runId) {
  const clock = {
    ...systemClock,
    random: seededRandom(config.seeds[runId] + 1),
    sleep: (ms, signal) => (emit({ event: 'wait', runId, ms }), systemClock.sleep(ms, signal)),
  };
  const wf = workflow(backend, clock, config.trials[runId]);
  wf.on('checkpoint_resumed', () => emit({ event: 'claimed', runId }));
  report(runId, await resumeWhenFree(wf, runId));
}

runMain(() => withBackend(config, modes[config.mode]));
