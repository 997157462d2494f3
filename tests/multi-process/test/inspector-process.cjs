// The tests' eyes on the storage, through the same BUILT packages the workers run (the test process itself runs
// the packages' sources, which may differ from the build while someone is mid-change). Long-lived: one JSON
// command per stdin line, one JSON answer per stdout line carrying the command's `id`.
//   { id, op: 'check', runId }  -> { event: 'report', id, head, listed: [summary], loaded: [checkpoint or error] }
//   { id, op: 'lease', runId }  -> { event: 'lease', id, token }  (claims the run and gives it straight back; token
//                                   null when someone else holds it)
// The backend is opened per command, so the inspector holds no SQLite handle while workers write.
'use strict';

const { createInterface } = require('node:readline');
const { CheckpointStore } = require('@savepoint/core');
const { openBackend } = require('./open-backend.cjs');
const { codeOf, config, emit } = require('./worker-kit.cjs');

/** What the crash and stale-writer tests compare: per node, its status and the `{ v, tok }` it recorded. */
function describeCheckpoint(checkpoint) {
  const nodes = {};
  for (const [node, state] of Object.entries(checkpoint.nodeStates)) {
    nodes[node] = { status: state.status, attempt: state.attempt, v: state.output?.v, tok: state.output?.tok };
  }
  return { id: checkpoint.id, seq: checkpoint.seq, status: checkpoint.status, parent: checkpoint.parentCheckpointId, nodes };
}

const operations = {
  async check(store, { runId }) {
    const head = await store.getHead(runId);
    const listed = (await store.listByRun(runId)).map((s) => ({ id: s.id, seq: s.seq, status: s.status, parent: s.parentCheckpointId }));
    const loaded = [];
    for (const { id } of listed) {
      try {
        loaded.push(describeCheckpoint(await store.load(id)));
      } catch (error) {
        loaded.push({ id, error: codeOf(error), message: error.message });
      }
    }
    return { event: 'report', head, listed, loaded };
  },

  async lease(store, { runId }) {
    const lease = await store.acquireLease(runId, `inspector:${process.pid}`, 1000).catch((error) => {
      if (codeOf(error) === 'RUN_LOCKED') return null;
      throw error;
    });
    if (lease) await store.releaseLease(lease);
    return { event: 'lease', token: lease ? lease.token : null };
  },
};

async function answer(command) {
  const backend = openBackend(config);
  try {
    emit({ id: command.id, ...(await operations[command.op](new CheckpointStore(backend), command)) });
  } catch (error) {
    emit({ id: command.id, event: 'failed', error: codeOf(error), message: error && error.stack });
  } finally {
    await backend.close?.();
  }
}

createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim().length > 0) void answer(JSON.parse(line));
});
emit({ event: 'ready' });
