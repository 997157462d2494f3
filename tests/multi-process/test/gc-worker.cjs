// One retention worker (test/crash.test.ts): sweeps one flow with a tiny `maxCheckpoints` over and over, through
// the BUILT packages, while or instead of a crash worker running the flow's run, until the test SIGKILLs it or it
// kills itself at the adapter call the test chose (`dieAt`: inside the sweep, e.g. holding the run's GC lease).
// Events on stdout, one JSON object per line: ready, swept, crashed, and the adapter probe's gc-leased/gc-released.
'use strict';

const { CheckpointStore } = require('@savepoint/core');
const { instrument } = require('./adapter-probe.cjs');
const { openBackend } = require('./open-backend.cjs');
const { config, emit, runMain, sleep } = require('./worker-kit.cjs');

async function main() {
  const backend = instrument(openBackend(config), { dieAt: config.dieAt, emit });
  const store = new CheckpointStore(backend);
  await store.setup();
  emit({ event: 'ready' });
  // A seeded pause first, so some sweeps start after the previous worker's short lease has expired and can take
  // the GC lease, and others while it still holds the run.
  await sleep(config.startAfterMs);
  for (let sweep = 1; ; sweep++) {
    const result = await store.cleanup({ flowId: config.flowId, maxCheckpoints: config.maxCheckpoints });
    emit({ event: 'swept', sweep, ...result });
    await sleep(5);
  }
}

runMain(main);
