// A worker for the graceful-shutdown test (test/shutdown.test.ts), through the BUILT packages. Two modes:
//  - `serve` (process A): starts a run of a → b → c; node b announces itself and returns `finishAfterSigtermMs`
//    after SIGTERM (within the grace period) or, without it, after `holdMs` (unless its ctx.signal aborts first).
//    On SIGTERM it calls `workflow.shutdown({ graceMs })`, reports the run's result and exits 0.
//  - `take` (process B, one for every trial): for each of `runIds` in turn, once told `go <runId>` (the moment that
//    trial's A gets SIGTERM), resumes the run, retrying while A's lease holds it, and reports when it has claimed the
//    run and its result.
// Every node execution is appended to a journal file shared by both processes before the node does anything, and
// A reports each node that returned (`left`), so the test knows which execution the shutdown interrupted.
'use strict';

const { appendFileSync } = require('node:fs');
const { Flow, FunctionNode, Workflow } = require('@savepoint/core');
const { withBackend } = require('./open-backend.cjs');
const { codeOf, command, config, emit, resumeWhenFree, runMain } = require('./worker-kit.cjs');

/** Resolves after `ms`, or rejects with the signal's reason once it aborts (a node that honours shutdown). */
function hold(ms, signal) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason);
    });
  });
}

/** ((x + 1) * 2) + 3: the output proves each node ran once on the right input. `holdB(signal)` is what b waits for. */
function workflow(backend, holdB) {
  const node = (id, dependsOn, fn) =>
    new FunctionNode({
      id,
      dependsOn,
      run: async (input, ctx) => {
        appendFileSync(config.journal, `${JSON.stringify({ runId: ctx.runId, node: id, pid: process.pid })}\n`);
        emit({ event: 'entered', node: id });
        if (id === 'b') await holdB(ctx.signal);
        emit({ event: 'left', node: id });
        return fn(input);
      },
    });
  const flow = new Flow({ id: 'shutdown', nodes: [node('a', [], (x) => x + 1), node('b', ['a'], (x) => x * 2), node('c', ['b'], (x) => x + 3)] });
  return new Workflow({ flow, checkpoint: { enabled: true, backend, leaseTtlMs: config.leaseTtlMs } });
}

function report(result) {
  emit({ event: 'result', runId: result.runId, status: result.status, output: result.output, error: result.error ? codeOf(result.error) : undefined, checkpointId: result.checkpointId });
}

const modes = {
  async serve(backend) {
    let onSigterm;
    const sigterm = new Promise((resolve) => (onSigterm = resolve));
    const holdB = async (signal) => {
      if (config.finishAfterSigtermMs === undefined) return hold(config.holdMs, signal);
      await sigterm;
      await hold(config.finishAfterSigtermMs, signal);
    };
    const wf = workflow(backend, holdB);
    const stopped = new Promise((resolve) =>
      process.once('SIGTERM', () => {
        emit({ event: 'sigterm' });
        resolve(wf.shutdown({ graceMs: config.graceMs }));
        onSigterm();
      }),
    );
    // A server's listening socket keeps it alive until SIGTERM; this worker (on SQLite or files, no socket) needs a timer.
    const alive = setInterval(() => undefined, 60_000);
    report(await wf.run(config.input, { runId: config.runId }));
    await stopped;
    clearInterval(alive);
  },

  async take(backend) {
    const wf = workflow(backend, async () => undefined);
    wf.on('checkpoint_resumed', (event) => emit({ event: 'claimed', runId: event.runId }));
    await wf.store.setup();
    emit({ event: 'ready' });
    for (const runId of config.runIds) {
      await command(`go ${runId}`);
      report(await resumeWhenFree(wf, runId));
    }
  },
};

runMain(() => withBackend(config, modes[config.mode]));
