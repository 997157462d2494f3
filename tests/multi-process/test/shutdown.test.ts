// Graceful shutdown hands runs over at once (issue 9 §6, DESIGN §8), between real processes on every backend (file,
// SQLite, PostgreSQL, Redis). Per trial: process A runs a → b → c and is SIGTERMed while b runs; it calls
// `workflow.shutdown({ graceMs })` and exits 0. Process B (one for all trials), told at the same moment, resumes the
// run (retrying while A still holds it) and finishes it. The lease ttl is 60 s, so B finishing in well under it (asserted: under half)
// shows A released the run instead of leaving it to expire. Seeded variants: b finishes within the grace (recorded
// success, never run again) or b outlasts it (interrupted, recorded running, run again by B exactly once). Every
// node execution is journaled by both processes; the handoff times (SIGTERM → B claimed, → B completed) are printed
// per backend (median of the trials), never asserted.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect } from '@jest/globals';
import { eachBackend, expectNoViolations } from './backend-cases.js';
import { countFromEnv, randomFor, SEED } from './seed.js';
import { killAllWorkers, spawnWorker, until, type WorkerProcess } from './workers.js';

const WORKER = join(__dirname, 'shutdown-worker.cjs');
const TRIALS = countFromEnv('SHUTDOWN_TRIALS', 10);
/**
 * Long, so the bound is wide on both sides: a lease left to expire (renewed every ttl/3) would keep B out for at
 * least 40 s after SIGTERM; B must finish within 30 s (it takes about a second, see the printed times).
 */
const LEASE_TTL_MS = 60_000;

interface Variant {
  name: 'finishes within grace' | 'interrupted after grace';
  /** What A's node b does: return this long after SIGTERM, or take `holdMs` from its start. */
  hold: { finishAfterSigtermMs: number } | { holdMs: number };
  graceMs: number;
}
// b's time after SIGTERM: 0.3 s against 10 s of grace, or two minutes against 0.5 s.
const FINISHES: Variant = { name: 'finishes within grace', hold: { finishAfterSigtermMs: 300 }, graceMs: 10_000 };
const INTERRUPTED: Variant = { name: 'interrupted after grace', hold: { holdMs: 120_000 }, graceMs: 500 };

/** ((x + 1) * 2) + 3, the worker's a → b → c. */
const outputFor = (input: number) => (input + 1) * 2 + 3;

afterAll(killAllWorkers);

eachBackend(
  'the graceful-shutdown test',
  `%s: ${TRIALS} trials of SIGTERM inside a node: another process finishes the run in well under the lease ttl, no node run twice but the interrupted one`,
  async ({ kind, namespace, inspector }) => {
    const dir = mkdtempSync(join(tmpdir(), `sp-shutdown-${kind}-`));
    const journal = join(dir, 'journal.ndjson');
    const violations: string[] = [];
    const times = new Map<Variant, { claimed: number[]; completed: number[] }>([
      [FINISHES, { claimed: [], completed: [] }],
      [INTERRUPTED, { claimed: [], completed: [] }],
    ]);
    const runIds = Array.from({ length: TRIALS }, (_, trial) => `shutdown-${trial}`);
    const b = spawnWorker({ ...namespace.worker, journal, mode: 'take', runIds, leaseTtlMs: LEASE_TTL_MS, retryLockedForMs: 2 * LEASE_TTL_MS }, WORKER);
    const runTrial = async (trial: number) => {
      const random = randomFor('shutdown', kind, trial);
      const variant = random() < 0.5 ? FINISHES : INTERRUPTED;
      const runId = runIds[trial]!;
      const input = random.int(0, 1000);
      const a = spawnWorker({ ...namespace.worker, journal, mode: 'serve', runId, input, leaseTtlMs: LEASE_TTL_MS, ...variant.hold, graceMs: variant.graceMs }, WORKER);
      await until(`A to be inside node b and B to be ready (${runId})`, () => (entered(a, 'b') && b.of('ready').length > 0 ? true : undefined), [a, b]);
      await new Promise((resolve) => setTimeout(resolve, random.int(0, 100)));

      const sigtermAt = Date.now();
      a.signal('SIGTERM');
      b.send(`go ${runId}`);
      const aEvents = await a.finished(90_000);
      const bResult = await until(`B to finish ${runId}`, () => b.events.find((e) => e.event === 'result' && e.runId === runId), [b], 90_000);
      const claimed = b.events.find((e) => e.event === 'claimed' && e.runId === runId);
      const aResult = aEvents.find((e) => e.event === 'result');
      const label = `${runId} (${variant.name})`;
      times.get(variant)!.claimed.push(claimed!.receivedAt - sigtermAt);
      times.get(variant)!.completed.push(bResult!.receivedAt - sigtermAt);

      // Well under the ttl: with the lease left to expire B could not even have started before it.
      expect({ label, completedBeforeHalfTheTtl: bResult!.receivedAt - sigtermAt < LEASE_TTL_MS / 2 }).toEqual({ label, completedBeforeHalfTheTtl: true });
      expect({ label, a: aResult?.status, b: bResult?.status, output: bResult?.output }).toEqual({ label, a: 'paused', b: 'success', output: outputFor(input) });

      // b ran again only if the shutdown interrupted it (A never saw it return), and then exactly once more, in B.
      const interrupted = !a.of('left').some((e) => e.node === 'b');
      if (interrupted !== (variant === INTERRUPTED)) violations.push(`${label}: b was ${interrupted ? '' : 'not '}interrupted`);
      const executions = readJournal(journal).filter((entry) => entry.runId === runId);
      const count = (node: string, pid: number) => executions.filter((e) => e.node === node && e.pid === pid).length;
      const counts = JSON.stringify(['a', 'b', 'c'].map((node) => [count(node, a.pid), count(node, b.pid)]));
      const expected = JSON.stringify([[1, 0], [1, interrupted ? 1 : 0], [0, 1]]);
      if (counts !== expected) violations.push(`${label}: executions of a, b, c in [A, B]: ${counts}, expected ${expected}`);

      // A's handover is in the run's history: paused, b recorded success or (interrupted) running.
      const report = await inspector.check(runId);
      const paused = report.loaded.find((c) => c.error === undefined && c.status === 'paused');
      const bState = paused && paused.error === undefined ? paused.nodes.b?.status : undefined;
      if (bState !== (interrupted ? 'running' : 'success')) violations.push(`${label}: A's paused checkpoint records b as ${bState ?? '(no paused checkpoint)'}`);
      if (report.loaded[0]?.error !== undefined || report.loaded[0]?.status !== 'completed') violations.push(`${label}: the head is not completed`);
    };
    try {
      // One trial at a time: the handoff times then measure the handoff, not the machine's load.
      for (let trial = 0; trial < TRIALS; trial++) await runTrial(trial);
      await b.finished();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const summary = [...times].map(([variant, { claimed, completed }]) => {
      const returns = 'finishAfterSigtermMs' in variant.hold ? `${variant.hold.finishAfterSigtermMs} ms after SIGTERM` : 'never';
      return `${variant.name} (b returns ${returns}, grace ${variant.graceMs} ms), ${claimed.length} trials: SIGTERM → B claimed ${spread(claimed)}, → B completed ${spread(completed)}`;
    });
    console.log(`graceful shutdown ${kind}: CRASH_SEED=${SEED}, lease ttl ${LEASE_TTL_MS} ms; ${summary.join('; ')}`);
    expectNoViolations(violations, 'shutdown');
  },
  300_000,
);

function entered(worker: WorkerProcess, node: string): boolean {
  return worker.events.some((e) => e.event === 'entered' && e.node === node);
}

function readJournal(path: string): Array<{ runId: string; node: string; pid: number }> {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as { runId: string; node: string; pid: number });
}

/** `median ms (min-max)` of the handoff times, or `-` when the seed drew no trial of the variant. */
function spread(values: readonly number[]): string {
  return values.length === 0 ? '-' : `median ${median(values)} ms (${Math.min(...values)}-${Math.max(...values)})`;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : Math.round((sorted[middle - 1]! + sorted[middle]!) / 2);
}
