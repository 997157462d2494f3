// Node retries survive a crash during the back-off (issue 9 §1, DESIGN §3), between real processes on the embedded
// backends (file, SQLite). Per trial: process A runs a → b, where b fails its first attempts and retries; A is
// SIGKILLed at a seeded moment inside the (~4 s) back-off after a seeded attempt k. Process B then resumes the run. Checked per trial, from a journal both processes append to before each execution:
//  - the attempts of b across A and B are 1, 2, … N with none lost or repeated, A's first then B's, all with one
//    idempotencyKey; B continues at k + 1 (not 1) with `isResumed`, and the retry budget goes on: the run ends at
//    exactly `succeedAt` (success) or `maxAttempts` (failure), and the head records that attempt;
//  - B does not start attempt k + 1 before it was due (the remainder of A's back-off), and any wait it takes for it
//    is at most what was left;
//  - a ran once.
// Replay with CRASH_SEED=<the printed seed>; RETRY_CRASH_TRIALS=<n> raises the trials per backend.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect } from '@jest/globals';
import { eachBackend, expectNoViolations } from './backend-cases.js';
import { countFromEnv, randomFor, SEED, type Random } from './seed.js';
import { killAllWorkers, spawnWorker, until } from './workers.js';

const WORKER = join(__dirname, 'retry-worker.cjs');
/** Trials whose kill landed inside a back-off; more are run if the machine let a kill slip past one. */
const TRIALS = countFromEnv('RETRY_CRASH_TRIALS', 20);
const LANES = 8;
/**
 * The back-off A dies in lasts 3.2-4 s (jitter 0.2; an earlier one 0.3 s) against kills at most 250 ms into it, and
 * A's lease lapses 2.5 s after the kill: B usually claims the run while that back-off still runs, so it must wait the
 * remainder. The lease is long enough that a live worker on a busy 2-core machine renews it in time.
 */
const LONG_BACKOFF_MS = 4_000;
const SHORT_BACKOFF_MS = 300;
const SETTINGS = { leaseTtlMs: 2_500, lockStaleMs: 1_500 };
/** Timers may fire a few ms early against `Date.now()` (libuv's cached loop time). */
const CLOCK_SLACK_MS = 25;

interface JournalEntry {
  runId: string;
  node: string;
  pid: number;
  attempt: number;
  isResumed: boolean;
  key: string;
  at: number;
}

afterAll(killAllWorkers);

eachBackend(
  'the retry crash test',
  `%s: ${TRIALS} SIGKILLs during a retry back-off; the next process continues the attempt count and waits only the remainder`,
  async ({ kind, namespace, inspector }) => {
    const dir = mkdtempSync(join(tmpdir(), `sp-retry-crash-${kind}-`));
    const journal = join(dir, 'journal.ndjson');
    const violations: string[] = [];
    const tally = { noTrial: [] as string[], trials: 0, inBackoff: 0, waitedRemainder: 0, pastDue: 0, succeeded: 0, exhausted: 0, attempts: 0 };
    const started = Date.now();

    const plans = Array.from({ length: 2 * TRIALS }, (_, trial) => planTrial(kind, trial));
    // One resuming process for every trial (told `go <runId>` after each kill): its start-up is paid once.
    const b = spawnWorker(
      {
        ...namespace.worker,
        ...SETTINGS,
        journal,
        mode: 'take',
        retryLockedForMs: 30_000,
        runIds: plans.map((p) => p.runId),
        seeds: Object.fromEntries(plans.map((p) => [p.runId, p.seed])),
        trials: Object.fromEntries(plans.map((p) => [p.runId, { retry: p.retry, succeedAt: p.succeedAt }])),
      },
      WORKER,
    );
    await until('the resuming process to be ready', () => b.of('ready')[0], [b]);

    const runTrial = async ({ runId, killAfter, maxAttempts, succeedAt, input, retry, seed, random }: TrialPlan) => {
      const label = `${runId} (kill in the back-off after attempt ${killAfter}, maxAttempts ${maxAttempts}, succeedAt ${succeedAt ?? 'never'})`;
      const a = spawnWorker({ ...namespace.worker, ...SETTINGS, journal, mode: 'serve', runId, input, retry, succeedAt, seed }, WORKER);
      await until(`A's back-off after attempt ${killAfter} (${runId})`, () => a.of('backoff').find((e) => e.attempt === killAfter) ?? a.exit, [a, b]);
      const backoff = a.of('backoff').find((e) => e.attempt === killAfter);
      if (!backoff) {
        // A machine so busy that A missed its lease renewals stops A before the back-off (LEASE_LOST): no trial.
        tally.noTrial.push(JSON.stringify(a.of('result')[0] ?? a.exit));
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, random.int(0, 250)));
      a.signal('SIGKILL');
      await a.exited;

      b.send(`go ${runId}`);
      const result = await until(`B's result (${runId})`, () => b.of('result').find((e) => e.runId === runId), [b]);
      const bEvents = b.events.filter((e) => e.runId === runId);
      tally.trials += 1;

      const entries = readJournal(journal).filter((entry) => entry.runId === runId);
      const attemptsOf = (pid: number) => entries.filter((e) => e.node === 'b' && e.pid === pid).map((e) => e.attempt);
      const [inA, inB] = [attemptsOf(a.pid), attemptsOf(b.pid)];
      const all = [...inA, ...inB];
      const last = all.length;
      // No attempt lost, none run twice, A's before B's: the count only goes on.
      if (JSON.stringify(all) !== JSON.stringify(all.map((_, i) => i + 1))) violations.push(`${label}: attempts of b in A ${JSON.stringify(inA)}, in B ${JSON.stringify(inB)}`);
      if (new Set(entries.filter((e) => e.node === 'b').map((e) => e.key)).size !== 1) violations.push(`${label}: b's idempotencyKey changed between attempts`);
      if (entries.filter((e) => e.node === 'a').length !== 1) violations.push(`${label}: a ran ${entries.filter((e) => e.node === 'a').length} times`);
      const head = (await inspector.check(runId)).loaded[0];
      const headB = head && head.error === undefined ? head.nodes.b : undefined;
      if (headB?.attempt !== last) violations.push(`${label}: the head records b at attempt ${headB?.attempt} (${JSON.stringify(head)}), the journal ${last}`);
      tally.attempts += last;

      // The kill normally lands in the back-off; a machine that stalled past it started attempt k + 1 in A first,
      // which is a crash inside an attempt (a new retry series on resume), checked above only.
      if (inA.length !== killAfter) return;
      tally.inBackoff += 1;
      const expectedLast = succeedAt ?? maxAttempts;
      const expectedResult = succeedAt === undefined ? { status: 'failure', output: undefined } : { status: 'success', output: (input + 1) * 2 };
      if (last !== expectedLast) violations.push(`${label}: the run ended after attempt ${last}, expected ${expectedLast}`);
      if (result.status !== expectedResult.status || result.output !== expectedResult.output) {
        violations.push(`${label}: B's result ${JSON.stringify(result)}, expected ${JSON.stringify(expectedResult)}`);
      }
      const resumed = entries.find((e) => e.node === 'b' && e.pid === b.pid);
      if (!resumed?.isResumed || resumed.attempt !== killAfter + 1) violations.push(`${label}: B's first attempt ${JSON.stringify(resumed)}`);
      const dueAt = backoff.dueAt as number;
      if (resumed && resumed.at < dueAt - CLOCK_SLACK_MS) violations.push(`${label}: B started attempt ${resumed.attempt} ${dueAt - resumed.at} ms before it was due`);
      // The waits B's clock was asked for before its first attempt: the remainder of A's back-off, or none if past due.
      const firstAttempt = bEvents.findIndex((e) => e.event === 'attempt');
      const remainder = bEvents.slice(0, firstAttempt).filter((e) => e.event === 'wait');
      if (remainder.length === 0) tally.pastDue += 1;
      else if (remainder.length === 1 && (remainder[0]!.ms as number) <= (backoff.delayMs as number)) tally.waitedRemainder += 1;
      else violations.push(`${label}: B waited ${JSON.stringify(remainder.map((e) => e.ms))} before its first attempt; A's back-off was ${backoff.delayMs as number} ms`);
      if (succeedAt === undefined) tally.exhausted += 1;
      else tally.succeeded += 1;
    };

    try {
      let next = 0;
      let running = 0;
      const lane = async () => {
        // Trials until TRIALS kills landed in a back-off (at most twice as many trials).
        while (tally.inBackoff + running < TRIALS && next < plans.length) {
          running += 1;
          await runTrial(plans[next++]!).finally(() => (running -= 1));
        }
      };
      const lanes = await Promise.allSettled(Array.from({ length: LANES }, lane));
      const failed = lanes.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
      if (failed) throw failed.reason;
    } finally {
      b.signal('SIGKILL');
      await b.exited;
      rmSync(dir, { recursive: true, force: true });
    }
    console.log(
      `retry crash test ${kind}: CRASH_SEED=${SEED}: ${tally.trials} SIGKILLs, ${tally.inBackoff} inside a back-off ` +
        `(${tally.succeeded} runs then succeeded, ${tally.exhausted} used up maxAttempts); the resuming process waited the remainder in ` +
        `${tally.waitedRemainder}, found it past due in ${tally.pastDue}; ${tally.attempts} attempts in all; ${violations.length} violations; ` +
        `${tally.noTrial.length} runs stopped before the back-off ${JSON.stringify(tally.noTrial)}; ` +
        `${Math.round((Date.now() - started) / 1000)} s`,
    );
    expectNoViolations(violations, 'retry-crash');
    expect(tally.inBackoff).toBeGreaterThanOrEqual(TRIALS);
  },
  240_000,
  ['file', 'sqlite'],
);

interface TrialPlan {
  runId: string;
  killAfter: number;
  maxAttempts: number;
  succeedAt: number | undefined;
  input: number;
  retry: { maxAttempts: number; initialDelayMs: number; factor: number; maxDelayMs: number };
  seed: number;
  /** Draws the kill's moment inside the back-off. */
  random: Random;
}

/** Trial `trial`'s plan, from the seed alone. */
function planTrial(kind: string, trial: number): TrialPlan {
  const random = randomFor('retry-crash', kind, trial);
  const killAfter = random.int(1, 2);
  // B gets one attempt left: it succeeds, or it is the last one (a budget that restarted would try again).
  const maxAttempts = killAfter + 1;
  const succeedAt = random() < 0.4 ? undefined : maxAttempts;
  // Back-offs: a short one before attempt k's, then long ones (capped at LONG_BACKOFF_MS).
  const backoff =
    killAfter === 1
      ? { initialDelayMs: LONG_BACKOFF_MS, factor: 1, maxDelayMs: LONG_BACKOFF_MS }
      : { initialDelayMs: SHORT_BACKOFF_MS, factor: LONG_BACKOFF_MS / SHORT_BACKOFF_MS, maxDelayMs: LONG_BACKOFF_MS };
  return { runId: `retry-crash-${trial}`, killAfter, maxAttempts, succeedAt, input: random.int(0, 1000), retry: { maxAttempts, ...backoff }, seed: random.int(0, 2 ** 31), random };
}

function readJournal(path: string): JournalEntry[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as JournalEntry);
}
