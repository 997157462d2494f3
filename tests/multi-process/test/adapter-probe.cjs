// Instruments a worker's storage adapter: reports every lease it is granted (so the test can check fencing tokens
// only ever go up) and, when the test asks, SIGKILLs this very process at an exact adapter call, e.g. while
// retention holds a run's GC lease. A timer in the test can only land near such a window; this lands in it.
'use strict';

const WATCHED = ['acquireLease', 'renewLease', 'releaseLease', 'putBlobs', 'putHeader', 'commitCheckpoint', 'getBlobs', 'deleteHeaders', 'deleteBlobsExcept'];

// Retention's sweeper claims a run under owners named like this (core's retention-sweeper.ts).
const isGcOwner = (owner) => typeof owner === 'string' && owner.startsWith('savepoint:gc:');

/**
 * `dieAt`: `{ call, nth, phase }` kills the process `before` or `after` the nth `call`: an adapter method name,
 * `commit` (a header commit: `commitCheckpoint` or `putHeader`, whichever the adapter uses), `gc:acquireLease`
 * (a GC lease granted; `after` only) or `gc:releaseLease` (a GC lease given back: the sweep is done).
 * `emit(event)` writes one JSON event line for the test.
 */
function instrument(backend, { dieAt, emit }) {
  const counts = new Map();
  const reached = (call, phase) => {
    if (dieAt?.call === call && dieAt.phase === phase && counts.get(call) === dieAt.nth) {
      emit({ event: 'dying', call, phase, nth: dieAt.nth });
      process.kill(process.pid, 'SIGKILL');
    }
  };
  const enter = (calls) => {
    for (const call of calls) {
      counts.set(call, (counts.get(call) ?? 0) + 1);
      reached(call, 'before');
    }
  };

  for (const method of WATCHED) {
    const original = backend[method];
    if (typeof original !== 'function') continue; // optional methods stay absent (the store checks for them)
    backend[method] = async function (...args) {
      const calls = [method];
      if (method === 'putHeader' || method === 'commitCheckpoint') calls.push('commit');
      const gcRelease = method === 'releaseLease' && isGcOwner(args[0]?.owner);
      if (gcRelease) calls.push('gc:releaseLease');
      enter(calls);
      const result = await original.apply(backend, args);
      if ((method === 'acquireLease' || method === 'renewLease') && result) {
        const gc = isGcOwner(result.owner);
        emit({ event: gc ? 'gc-leased' : 'lease', runId: result.runId, owner: result.owner, token: result.token, ttlMs: result.expiresAt - Date.now() });
        if (gc && method === 'acquireLease') {
          calls.push('gc:acquireLease');
          enter(['gc:acquireLease']);
        }
      }
      if (gcRelease) emit({ event: 'gc-released', runId: args[0].runId });
      for (const call of calls) reached(call, 'after');
      return result;
    };
  }
  return backend;
}

module.exports = { instrument };
