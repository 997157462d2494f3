// One lane of the crash test: runs of test/crash-worker.cjs's flow, one after another, each driven to completion
// through steps in which crash workers and retention workers are SIGKILLed at seeded points; after every step
// the run's storage is checked (test/crash-invariants.ts), and once it completes, its journal.
import { join } from 'node:path';
import { checkJournal, RunHistory, type Loaded } from './crash-invariants.js';
import { planStep, type GcKill, type NodeKill, type StepPlan } from './crash-plan.js';
import type { Inspector, RunReport } from './inspector.js';
import type { Random } from './seed.js';
import { spawnWorker, until, type WorkerEvent, type WorkerProcess } from './workers.js';

const CRASH_WORKER = join(__dirname, 'crash-worker.cjs');
const GC_WORKER = join(__dirname, 'gc-worker.cjs');
const LEASE_TTL_MS = 300;
/** Retention keeps only the newest checkpoint of the flow: every commit gives the next sweep something to delete. */
const MAX_CHECKPOINTS = 1;
/** Kill steps per run before a worker is left to finish it. */
const KILLS_PER_RUN = 8;
/**
 * How long a crash worker retries RUN_LOCKED before it reports itself stuck. Every lease this test takes lives
 * 300 ms; the bound only has to separate "a short lease, renewed while its holder lives" from a dead holder's
 * lease that blocks the run for a minute (issue 8, defect 8: GC's 60 s lease).
 */
const LOCKED_GIVE_UP_MS = 20_000;
/** SAVEPOINT_TEST_VERBOSE=1 traces every step on stderr. */
const VERBOSE = Boolean(process.env.SAVEPOINT_TEST_VERBOSE);

/** What a backend's lanes did, together. */
export interface Tally {
  kills: number;
  nodeKills: number;
  gcKills: number;
  /** Retention workers killed while holding a run's GC lease. */
  gcLeaseKills: number;
  /** Crash workers whose commit was refused because they had missed renewing their lease (busy machine). */
  leaseLosses: number;
  runs: number;
  steps: number;
  /** Longest a crash worker waited for a run after a retention worker died holding its GC lease. */
  longestWaitAfterGcLeaseKillMs: number;
  violations: string[];
}

export const newTally = (): Tally => ({ kills: 0, nodeKills: 0, gcKills: 0, gcLeaseKills: 0, leaseLosses: 0, runs: 0, steps: 0, longestWaitAfterGcLeaseKillMs: 0, violations: [] });

export interface Lane {
  name: string;
  /** The namespace's worker config (test/namespaces.ts). */
  worker: Record<string, unknown>;
  inspector: Inspector;
  journalDir: string;
  random: Random;
  tally: Tally;
  /** Kills this lane must reach. */
  kills: number;
  /** True once the backend has seen enough violations to stop. */
  stopped(): boolean;
}

export async function runLane(lane: Lane): Promise<void> {
  let killed = 0;
  for (let n = 0; killed < lane.kills && !lane.stopped(); n++) killed += await crashRun(lane, `${lane.name}-${n}`, lane.kills - killed);
}

interface StepResult {
  killedPids: number[];
  /** A crash worker whose commit was refused after it missed a renewal: like a killed one, it did not finish. */
  fencedPid?: number;
  gcLeaseKilled: boolean;
  /** Whether the crash worker got the run's lease. */
  nodeLeased: boolean;
  /** The crash worker's result, when it ran to the end. */
  result?: WorkerEvent;
  problems: string[];
}

/** A crash worker left alone: it finishes the run (or finds it finished). */
const FINISH: StepPlan = { node: {} };

/** Drives one run to completion; returns how many workers it killed. A violation ends the run early. */
async function crashRun(lane: Lane, runId: string, quota: number): Promise<number> {
  const { random, tally } = lane;
  const input = random.int(1, 1000);
  const history = new RunHistory(runId, input);
  const journal = join(lane.journalDir, `${runId}.log`);
  // One flow per run, so retention's `maxCheckpoints` applies to this run's history alone.
  const config = { ...lane.worker, runId, flowId: runId, input, journal, leaseTtlMs: LEASE_TTL_MS, lockedGiveUpMs: LOCKED_GIVE_UP_MS };
  const killed = new Set<number>();
  // Workers that ended before the run did: killed, or fenced off after a missed renewal.
  const interrupted = new Set<number>();
  let killSteps = 0;
  let gcLeaseLeft = false;
  tally.runs += 1;
  for (let step = 1; ; step++) {
    const plan = killSteps >= KILLS_PER_RUN || killed.size >= quota ? FINISH : planStep(random);
    const stepStarted = Date.now();
    const outcome = await runStep(config, plan, gcLeaseLeft, tally);
    if (VERBOSE) process.stderr.write(`${runId} step ${step} (${describePlan(plan)}): ${Date.now() - stepStarted} ms, killed ${outcome.killedPids.length}, result ${outcome.result?.status ?? '-'}\n`);
    tally.steps += 1;
    for (const pid of outcome.killedPids) {
      killed.add(pid);
      interrupted.add(pid);
    }
    if (outcome.fencedPid !== undefined) interrupted.add(outcome.fencedPid);
    if (outcome.killedPids.length > 0) killSteps += 1;
    gcLeaseLeft = outcome.gcLeaseKilled || (gcLeaseLeft && !outcome.nodeLeased);
    const report = await lane.inspector.check(runId);
    const problems = [...outcome.problems, ...history.observe(report)];
    const completed = outcome.result?.status === 'success';
    if (completed && problems.length === 0) {
      const again = await runStep(config, FINISH, gcLeaseLeft, tally);
      problems.push(...again.problems, ...checkCompleted(history, report, outcome.result!, again.result, interrupted, journal));
    }
    if (problems.length > 0) {
      tally.violations.push(...problems.map((p) => `${runId} step ${step} (${describePlan(plan)}): ${p}`));
      return killed.size;
    }
    if (completed) return killed.size;
  }
}

async function runStep(config: Record<string, unknown>, plan: StepPlan, gcLeaseLeft: boolean, tally: Tally): Promise<StepResult> {
  const node = plan.node && spawnWorker({ ...config, dieAt: plan.node.dieAt }, CRASH_WORKER);
  const gc = plan.gc && spawnWorker({ ...config, maxCheckpoints: MAX_CHECKPOINTS, startAfterMs: plan.gc.startAfterMs, dieAt: plan.gc.dieAt }, GC_WORKER);
  const workers = [node, gc].filter((w): w is WorkerProcess => w !== undefined);
  await until(
    `the step's workers (${describePlan(plan)}) to finish or be killed`,
    () => {
      if (node && plan.node) killNodeWhenDue(node, plan.node);
      if (gc && plan.gc) killGcWhenDue(gc, plan.gc, node);
      return workers.every((w) => w.exit !== undefined) ? true : undefined;
    },
    [],
    LOCKED_GIVE_UP_MS + 60_000,
  );

  const outcome: StepResult = { killedPids: [], gcLeaseKilled: false, nodeLeased: (node?.of('lease').length ?? 0) > 0, problems: [] };
  if (gc?.exit?.signal === 'SIGKILL') {
    outcome.gcLeaseKilled = gc.of('gc-leased').length > gc.of('gc-released').length;
    if (outcome.gcLeaseKilled) tally.gcLeaseKills += 1;
  }
  for (const worker of workers) {
    const exit = worker.exit!;
    const role = worker === node ? 'crash worker' : 'retention worker';
    if (exit.signal === 'SIGKILL') {
      outcome.killedPids.push(worker.pid);
      tally.kills += 1;
      if (worker === node) tally.nodeKills += 1;
      else tally.gcKills += 1;
      continue;
    }
    const stuck = worker.of('stuck')[0];
    if (stuck) {
      const why = gcLeaseLeft || outcome.gcLeaseKilled ? "after a retention worker died holding the run's GC lease" : '(no retention worker died holding its GC lease)';
      outcome.problems.push(`a resume was still RUN_LOCKED after ${stuck.lockedMs} ms ${why}: a dead holder's lease must not block the run for long`);
    } else if (exit.code !== 0) {
      outcome.problems.push(`the ${role} ${worker.pid} failed on its own with ${JSON.stringify(exit)}: ${worker.describe()}`);
    } else {
      outcome.result = worker.of('result')[0];
      // On a busy machine a worker can miss renewing its 300 ms lease; its next commit is then refused, which is
      // fencing doing its job. The run simply goes on in the next step.
      if (outcome.result?.status === 'failure' && outcome.result.error === 'LEASE_LOST') {
        tally.leaseLosses += 1;
        outcome.fencedPid = worker.pid;
      } else if (outcome.result?.status !== 'success') outcome.problems.push(`the run ended ${JSON.stringify(outcome.result)}`);
    }
  }
  if (gcLeaseLeft && node) {
    const [ready, leased] = [node.of('ready')[0], node.of('lease')[0]];
    if (ready && leased) tally.longestWaitAfterGcLeaseKillMs = Math.max(tally.longestWaitAfterGcLeaseKillMs, leased.receivedAt - ready.receivedAt);
  }
  return outcome;
}

/** The timer counts from the worker's last start: `ready`, or its last RUN_LOCKED retry, so it measures time on the run. */
function killNodeWhenDue(worker: WorkerProcess, kill: NodeKill): void {
  if (kill.delayMs === undefined || worker.exit !== undefined) return;
  const starts = worker.events.filter((e) => e.event === 'ready' || e.event === 'locked');
  if (starts.length > 0 && Date.now() - starts.at(-1)!.receivedAt >= kill.delayMs) worker.signal('SIGKILL');
}

function killGcWhenDue(worker: WorkerProcess, kill: GcKill, node: WorkerProcess | undefined): void {
  if (worker.exit !== undefined) return;
  const ready = worker.of('ready')[0];
  if ((ready && Date.now() - ready.receivedAt >= kill.delayMs) || node?.exit !== undefined) worker.signal('SIGKILL');
}

/** The completed run: its head is the result's checkpoint, a resume executes nothing, the journal agrees. */
function checkCompleted(history: RunHistory, report: RunReport, result: WorkerEvent, replayed: WorkerEvent | undefined, interrupted: ReadonlySet<number>, journal: string): string[] {
  const head = report.loaded.find((c) => c.id === report.head) as Loaded | undefined;
  if (head?.status !== 'completed' || head.id !== result.checkpointId) {
    return [`the run finished with checkpoint ${result.checkpointId} but its head is ${report.head} (${head?.status})`];
  }
  const problems = checkJournal(history, journal, head, interrupted, result.output);
  if (replayed !== undefined && (replayed.status !== 'success' || JSON.stringify(replayed.output) !== JSON.stringify(result.output) || (replayed.executed as string[]).length > 0)) {
    problems.push(`resuming the completed run gave ${JSON.stringify(replayed)}, expected success with the same output and no node executed`);
  }
  return problems;
}

function describePlan(plan: StepPlan): string {
  const node = plan.node && (plan.node.dieAt ? `crash worker dies at ${formatDieAt(plan.node.dieAt)}` : plan.node.delayMs !== undefined ? `crash worker killed after ${plan.node.delayMs} ms` : 'crash worker finishes');
  const gc = plan.gc && `retention from ${plan.gc.startAfterMs} ms, ${plan.gc.dieAt ? `dies at ${formatDieAt(plan.gc.dieAt)} or` : 'killed'} after ${plan.gc.delayMs} ms`;
  return [node, gc].filter(Boolean).join(' + ');
}

const formatDieAt = ({ call, nth, phase }: { call: string; nth: number; phase: string }) => `${phase} ${call} #${nth}`;
