// One worker process: runs or resumes runs of a 3-node workflow against PostgreSQL or Redis, through the BUILT
// packages, exactly as a deployed worker would. Driven by the test through argv (one JSON object), stdin (`go`,
// `release`) and stdout (one JSON event per line). Every node execution is recorded outside this process (a
// row in PostgreSQL, an INCR in Redis) before the node does anything, so a crash cannot hide one.
'use strict';

const { Flow, FunctionNode, RunLockedError, Workflow } = require('@savepoint/core');
const { openBackend } = require('./open-backend.cjs');
const { codeOf, command, config, emit, runMain, sleep } = require('./worker-kit.cjs');

const { backend: kind, mode } = config;

// ---- storage and the execution counter ------------------------------------------------------

function open() {
  const backend = openBackend({ ...config, poolMax: 5 });
  if (kind === 'postgres') {
    const pg = require('pg');
    const pool = new pg.Pool({ connectionString: config.url, max: 2, connectionTimeoutMillis: 5000 });
    pool.on('error', () => undefined);
    return {
      backend,
      record: (runId, node) =>
        pool.query(`INSERT INTO "${config.schema}".executions (run_id, node, pid) VALUES ($1, $2, $3)`, [runId, node, process.pid]),
      close: () => Promise.all([backend.close(), pool.end()]),
    };
  }
  if (kind === 'redis') {
    const Redis = require('ioredis');
    const counter = new Redis(config.url, { maxRetriesPerRequest: 1, retryStrategy: () => null });
    return {
      backend,
      record: (runId, node) => counter.incr(`${config.prefix}exec:${runId}:${node}`),
      close: async () => {
        await backend.close();
        counter.disconnect();
      },
    };
  }
  throw new Error(`unknown backend ${kind}`);
}

// ---- the workflow ---------------------------------------------------------------------------

/**
 * a → b → c. `hooks.enter(runId, node)` runs first in every node; `hooks.fail(runId, node)` makes a node throw.
 * The arithmetic makes the output prove every node ran on the right input: ((x + 1) * 2) + 3.
 */
function workflow(backend, hooks, leaseTtlMs) {
  const node = (id, dependsOn, fn) =>
    new FunctionNode({
      id,
      dependsOn,
      run: async (input, ctx) => {
        await hooks.enter(ctx.runId, id);
        if (hooks.fail?.(ctx.runId, id)) throw new Error(`${id} fails while the test prepares run ${ctx.runId}`);
        return fn(input);
      },
    });
  const flow = new Flow({
    id: 'multi-process',
    nodes: [node('a', [], (x) => x + 1), node('b', ['a'], (x) => x * 2), node('c', ['b'], (x) => x + 3)],
  });
  // Retention off in practice: it would delete the failed heads other workers are about to resume.
  return new Workflow({ flow, checkpoint: { enabled: true, backend, leaseTtlMs, maxCheckpoints: 1_000_000 } });
}

function report(runId, result, started) {
  emit({
    event: 'result',
    runId,
    status: result.status,
    output: result.output,
    error: result.error ? codeOf(result.error) : undefined,
    checkpointId: result.checkpointId,
    executed: started.has(runId),
  });
}

// ---- modes ----------------------------------------------------------------------------------

const modes = {
  /** Creates runs that stopped at b (`failed`, a completed) or at a (`paused`: failed at a, then marked paused). */
  async prepare(storage) {
    const stopAt = new Map(config.runs.map((run) => [run.runId, run.kind === 'failed' ? 'b' : 'a']));
    const wf = workflow(storage.backend, { enter: async () => undefined, fail: (runId, id) => stopAt.get(runId) === id }, 30_000);
    for (const [index, { runId, kind: runKind }] of config.runs.entries()) {
      const result = await wf.run(index, { runId });
      if (result.status !== 'failure') throw new Error(`preparing ${runId}: expected a failure, got ${result.status}`);
      if (runKind === 'paused') await wf.store.update(result.checkpointId, { status: 'paused' });
    }
    emit({ event: 'prepared', runs: config.runs.length });
  },

  /**
   * Resumes every listed run at once, after `go`. The first node a run executes here waits for `release`, so
   * the run stays leased until the test has seen every worker's attempt on it.
   */
  async race(storage) {
    const started = new Set();
    const released = command('release');
    const wf = workflow(
      storage.backend,
      {
        enter: async (runId, id) => {
          await storage.record(runId, id);
          if (!started.has(runId)) {
            started.add(runId);
            emit({ event: 'entered', runId, node: id });
          }
          await released;
        },
      },
      config.leaseTtlMs,
    );
    await wf.store.setup();
    emit({ event: 'ready' });
    await command('go');
    await Promise.all(
      config.runIds.map(async (runId) => {
        try {
          report(runId, await wf.resume({ runId }), started);
        } catch (error) {
          emit({ event: RunLockedError.isInstance(error) ? 'locked' : 'rejected', runId, error: codeOf(error), message: error.message });
        }
      }),
    );
  },

  /** Starts one run; node `holdIn` announces itself and then takes `holdMs` (the test kills or stops us there). */
  async run(storage) {
    const started = new Set([config.runId]);
    const wf = workflow(
      storage.backend,
      {
        enter: async (runId, id) => {
          await storage.record(runId, id);
          emit({ event: 'entered', runId, node: id });
          if (id === config.holdIn) await sleep(config.holdMs);
        },
      },
      config.leaseTtlMs,
    );
    report(config.runId, await wf.run(config.input, { runId: config.runId }), started);
  },

  /** Resumes one run, retrying while another worker's lease on it has not expired. */
  async resume(storage) {
    const started = new Set();
    const wf = workflow(
      storage.backend,
      {
        enter: async (runId, id) => {
          await storage.record(runId, id);
          started.add(runId);
          emit({ event: 'entered', runId, node: id });
        },
      },
      config.leaseTtlMs,
    );
    const deadline = Date.now() + config.retryLockedForMs;
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await wf.resume({ runId: config.runId });
        emit({ event: 'attempts', runId: config.runId, attempts: attempt });
        report(config.runId, result, started);
        return;
      } catch (error) {
        if (!RunLockedError.isInstance(error) || Date.now() > deadline) throw error;
        await sleep(100);
      }
    }
  },
};

async function main() {
  const storage = open();
  try {
    await modes[mode](storage);
  } finally {
    await storage.close();
  }
  emit({ event: 'done' });
}

runMain(main);
