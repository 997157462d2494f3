// DESIGN §9 crash tests on every backend (file, SQLite, PostgreSQL, Redis). Worker processes running the BUILT
// packages (test/crash-worker.cjs: a 6-node workflow, durability 'sync', 300 ms leases) and retention workers
// (test/gc-worker.cjs: cleanup with maxCheckpoints 1, alongside or instead of node execution) are SIGKILLed at
// seeded points: after random delays, or at an exact storage call (inside a commit, holding the GC lease...).
// After EVERY kill the run's storage must show: getHead() = the listed checkpoint with the highest seq, unique
// seqs, every listed checkpoint loading (invariants 6, 7), no committed node lost or re-recorded (invariant 2);
// no resume may stay blocked by a dead retention worker's lease. Each completed run's fsynced execution journal
// is checked against its head (invariants 2, 3). Lanes run concurrently: several runs per backend, all backends.
// Replay with CRASH_SEED=<the printed seed>; CRASH_KILLS=<n> raises the kills per backend (default 100).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect } from '@jest/globals';
import { eachBackend, expectNoViolations } from './backend-cases.js';
import { newTally, runLane } from './crash-lane.js';
import { countFromEnv, randomFor, SEED } from './seed.js';
import { killAllWorkers } from './workers.js';

const KILLS = countFromEnv('CRASH_KILLS', 100);
const LANES = 3;
/** A backend stops after this many violations: enough to see the pattern, and the report stays readable. */
const MAX_VIOLATIONS = 5;

afterAll(killAllWorkers);

describe('workers SIGKILLed at random points, in node execution and in retention', () => {
  eachBackend(
    'the crash test',
    `%s: ${KILLS} kills, every one followed by a look at the run; every run completes with nothing committed run again`,
    async ({ kind, namespace, inspector }) => {
      const journalDir = mkdtempSync(join(tmpdir(), `sp-crash-journal-${kind}-`));
      const tally = newTally();
      const started = Date.now();
      try {
        const lanes = await Promise.allSettled(
          Array.from({ length: LANES }, (_, i) =>
            runLane({
              name: `crash-${kind}-${i}`,
              worker: namespace.worker,
              inspector,
              journalDir,
              random: randomFor('crash', kind, i),
              tally,
              kills: Math.ceil(KILLS / LANES),
              stopped: () => tally.violations.length >= MAX_VIOLATIONS,
            }),
          ),
        );
        const failed = lanes.find((lane): lane is PromiseRejectedResult => lane.status === 'rejected');
        if (failed) throw failed.reason;
      } finally {
        rmSync(journalDir, { recursive: true, force: true });
      }
      const { violations, ...counts } = tally;
      console.log(
        `crash test ${kind}: CRASH_SEED=${SEED}: ${counts.kills} SIGKILLs (${counts.nodeKills} crash workers, ${counts.gcKills} retention workers, ` +
          `${counts.gcLeaseKills} of them holding a GC lease) in ${counts.steps} steps over ${counts.runs} runs; ${counts.leaseLosses} commits refused after a missed renewal; ` +
          `longest wait for a run after a GC-lease kill ${counts.longestWaitAfterGcLeaseKillMs} ms; ${violations.length} violations; ${Math.round((Date.now() - started) / 1000)} s`,
      );
      expectNoViolations(violations, 'crash');
      expect(counts.kills).toBeGreaterThanOrEqual(KILLS);
    },
    600_000,
  );
});
