// DESIGN §5 invariant 5 with real processes on every backend (file, SQLite, PostgreSQL, Redis): a writer frozen
// (SIGSTOP) past its lease, and on file past the run lock's lockStaleMs, whose runs another worker has taken over
// and completed, wakes up (SIGCONT) and must never commit: LeaseLostError or CheckpointConflictError, the head
// never moves, seqs stay unique along one chain, the fencing token never goes down, and a resume afterwards
// executes nothing. Each run is a trial; a round freezes one worker holding several runs, each stopped at a
// different point. 120 trials per backend catch a defect that shows in 2% of trials with ~91% probability.
// Replay with CRASH_SEED=<the printed seed>; STALE_TRIALS=<n> raises the trials per backend.
import { afterAll, describe } from '@jest/globals';
import { eachBackend, expectNoViolations } from './backend-cases.js';
import { countFromEnv, randomFor, SEED } from './seed.js';
import { newStaleTally, staleRound } from './stale-round.js';
import { killAllWorkers } from './workers.js';

const TRIALS = countFromEnv('STALE_TRIALS', 120);
const RUNS_PER_ROUND = 20;
// Short enough that a round takes a second or two, long enough that a live worker renews in time on a busy machine.
const SETTINGS = { leaseTtlMs: 300, lockStaleMs: 600, nodeMs: 2 };

afterAll(killAllWorkers);

describe('a frozen writer wakes up after its runs were taken over', () => {
  eachBackend(
    'the stale-writer test',
    `%s: ${TRIALS} trials, the stale writer never commits, moves the head or lowers the fencing token`,
    async ({ kind, namespace, inspector }) => {
      const tally = newStaleTally();
      const started = Date.now();
      for (let round = 0; tally.trials < TRIALS; round++) {
        await staleRound({
          name: `stale-${kind}-${round}`,
          worker: namespace.worker,
          inspector,
          random: randomFor('stale', kind, round),
          runs: RUNS_PER_ROUND,
          freezeSelf: kind === 'sqlite',
          settings: SETTINGS,
          tally,
        });
      }
      const { violations, ...counts } = tally;
      console.log(
        `stale-writer test ${kind}: CRASH_SEED=${SEED}: ${counts.trials} trials in ${counts.rounds} rounds, ${counts.contended} frozen holding the run unfinished; ` +
          `the stale writer ended ${JSON.stringify(counts.staleOutcomes)}; ${violations.length} violations; ${Math.round((Date.now() - started) / 1000)} s`,
      );
      expectNoViolations(violations, 'stale-writer');
    },
    600_000,
  );
});
