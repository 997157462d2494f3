// One round of the stale-writer test: a worker runs several runs at once and is frozen (SIGSTOP) at a seeded
// moment, so its runs stop at different points (inside a node, inside a commit, holding the file backend's run
// lock...). A second worker takes every run over once the frozen one's lease (and, on file, its lock) has gone
// stale, and completes it. Then the frozen worker wakes (SIGCONT) and carries on with what it had checked. Each
// run is one trial; see `checkTrial` for what must hold.
import { join } from 'node:path';
import type { Inspector, RunReport } from './inspector.js';
import type { Random } from './seed.js';
import { spawnWorker, until, type WorkerEvent, type WorkerProcess } from './workers.js';

const STALE_WORKER = join(__dirname, 'stale-worker.cjs');
const RESCUER_LEASE_TTL_MS = 5000;
/** SAVEPOINT_TEST_VERBOSE=1 times each round's phases on stderr. */
const VERBOSE = Boolean(process.env.SAVEPOINT_TEST_VERBOSE);
const NODES = 8;
/**
 * What a writer that lost its run may hear: fencing refused it, or the run was taken (or created) by another. Or
 * the storage failed it: after a long freeze its client timeouts fire the moment it wakes (whatever it may have
 * committed then is still checked on the storage itself).
 */
const REFUSALS = new Set(['LEASE_LOST', 'CHECKPOINT_CONFLICT', 'RUN_LOCKED', 'INVALID_ARGUMENT', 'BACKEND_UNAVAILABLE']);

export interface StaleTally {
  trials: number;
  /** Trials in which the frozen worker held the run, unfinished, when it was stopped. */
  contended: number;
  rounds: number;
  /** How the frozen worker's runs ended after it woke up: outcome -> count. */
  staleOutcomes: Record<string, number>;
  violations: string[];
}

export const newStaleTally = (): StaleTally => ({ trials: 0, contended: 0, rounds: 0, staleOutcomes: {}, violations: [] });

export interface StaleRound {
  name: string;
  worker: Record<string, unknown>;
  inspector: Inspector;
  random: Random;
  runs: number;
  /** The stale worker freezes itself from a timer (SQLite, see test/stale-worker.cjs) instead of the test stopping it. */
  freezeSelf: boolean;
  /** Worker settings: lease ttl, the file backend's lockStaleMs, the time each node takes. */
  settings: { leaseTtlMs: number; lockStaleMs: number; nodeMs: number };
  tally: StaleTally;
}

interface Run {
  runId: string;
  input: number;
  startAfterMs: number;
}

export async function staleRound(round: StaleRound): Promise<void> {
  const { random, tally } = round;
  const runs: Run[] = Array.from({ length: round.runs }, (_, i) => ({ runId: `${round.name}-${i}`, input: random.int(1, 100_000), startAfterMs: random.int(0, 100) }));
  const freezeAfterMs = random.int(20, 250);
  const base = { ...round.worker, ...round.settings, runs };

  const phases: string[] = [];
  let phaseStarted = Date.now();
  const phase = (name: string) => {
    phases.push(`${name} ${Date.now() - phaseStarted} ms`);
    phaseStarted = Date.now();
  };

  const stale = spawnWorker({ ...base, mode: 'start', freezeAfterMs, freezeSelf: round.freezeSelf }, STALE_WORKER);
  // Counted from the first node execution: a busy machine may take long to get there, and the freeze must find the
  // runs under way.
  const firstNode = await until('the stale worker to start a node', () => stale.of('first-node')[0], [stale]);
  if (!round.freezeSelf) {
    await until(`the stale worker's freeze time (${freezeAfterMs} ms)`, () => (Date.now() - firstNode.receivedAt >= freezeAfterMs ? true : undefined), [stale]);
    stale.signal('SIGSTOP');
  }
  // On a stalled machine the worker may finish every run before its freeze time comes: it exits, and the round goes
  // on with no run held (each trial is still checked; none counts as contended).
  await until('the stale worker to be stopped (or done before its freeze time)', () => (stale.isStopped() || stale.exit !== undefined ? true : undefined), [stale]);
  const stoppedAt = Date.now();
  phase('start');

  // The rescuer waits out the frozen worker's lease (and on file its run lock's lockStaleMs) by itself. Its own
  // lease is long: while the stale writer is frozen nobody else may take the run from it, so a LEASE_LOST of the
  // rescuer can only be fencing gone wrong, never a renewal it missed on a busy machine.
  const rescuer = spawnWorker({ ...base, mode: 'resume', leaseTtlMs: RESCUER_LEASE_TTL_MS, retryLockedForMs: 60_000 }, STALE_WORKER);
  await until('the rescuer to complete every run', () => rescuer.of('rescued')[0], [rescuer], 120_000);
  const rescued = new Map(await Promise.all(runs.map(async (run) => [run.runId, await round.inspector.check(run.runId)] as const)));
  phase('rescue');

  stale.signal('SIGCONT');
  await stale.finished(120_000);
  phase('wake');
  const after = new Map(
    await Promise.all(
      runs.map(async (run) => {
        const report = await round.inspector.check(run.runId);
        return [run.runId, { report, token: await round.inspector.leaseToken(run.runId) }] as const;
      }),
    ),
  );
  rescuer.send('again');
  await rescuer.finished(120_000);
  phase('again');
  if (VERBOSE) process.stderr.write(`${round.name}: ${phases.join(', ')}\n`);

  tally.rounds += 1;
  for (const run of runs) {
    const staleEnd = outcome(stale, run.runId, 'start');
    const key = staleEnd ? `${staleEnd.event === 'result' ? staleEnd.status : 'rejected'}${staleEnd.error ? ` ${staleEnd.error}` : ''}` : 'no outcome';
    tally.staleOutcomes[key] = (tally.staleOutcomes[key] ?? 0) + 1;
    tally.trials += 1;
    // A strong trial: the stale writer held the run, unfinished, when it was frozen.
    const held = stale.events.some((e) => e.event === 'lease' && e.runId === run.runId && e.receivedAt <= stoppedAt);
    const finished = stale.events.some((e) => e.event === 'result' && e.runId === run.runId && e.receivedAt <= stoppedAt);
    if (held && !finished) tally.contended += 1;
    const problems = checkTrial(run, { stale, rescuer }, rescued.get(run.runId)!, after.get(run.runId)!, stoppedAt);
    tally.violations.push(...problems.map((p) => `${run.runId} (frozen ${freezeAfterMs} ms after its first node; run started at ${run.startAfterMs} ms): ${p}`));
  }
}

function outcome(worker: WorkerProcess, runId: string, pass: string): WorkerEvent | undefined {
  return worker.events.find((e) => (e.event === 'result' || e.event === 'rejected') && e.runId === runId && e.pass === pass);
}

function expectedOutput(input: number): number {
  let v = input;
  for (let i = 1; i <= NODES; i++) v = (v * 3 + i) % 1_000_003;
  return v;
}

interface Grant {
  owner: string;
  token: number;
  receivedAt: number;
}

/** The leases `worker` was granted on the run (up to `until`, epoch ms of arrival): one owner per claim. */
const grantsOf = (worker: WorkerProcess, runId: string, until = Infinity): Grant[] =>
  worker.of('lease').filter((e) => e.runId === runId && e.receivedAt <= until) as unknown as Grant[];

/**
 * Fencing tokens go up whenever the run changes hands: no two claims share a token, the rescuer's is above every
 * claim the stale writer held before it froze, and a fresh claim afterwards is above them all.
 */
function checkTokens(stale: Grant[], rescuer: Grant[], staleFrozenAt: number, probe: number | null): string[] {
  const problems: string[] = [];
  const owners = new Map<number, Set<string>>();
  for (const { owner, token } of [...stale, ...rescuer]) owners.set(token, (owners.get(token) ?? new Set()).add(owner));
  for (const [token, claims] of owners) if (claims.size > 1) problems.push(`${claims.size} claims got the same token ${token}: the token did not go up when the run changed hands`);
  const before = stale.filter((g) => g.receivedAt <= staleFrozenAt).map((g) => g.token);
  const taken = rescuer.map((g) => g.token);
  if (before.length > 0 && taken.length > 0 && Math.min(...taken) <= Math.max(...before)) {
    problems.push(`the rescuer's token ${Math.min(...taken)} is not above the frozen writer's ${Math.max(...before)}`);
  }
  const highest = Math.max(...stale.map((g) => g.token), ...taken);
  if (probe === null) problems.push('the run is still leased after both workers ended');
  else if (probe <= highest) problems.push(`a fresh claim got token ${probe}, not above the ${highest} granted before: the token went down`);
  return problems;
}

/**
 * The stale writer never commits: the rescuer (the rightful owner) completes the run and its last checkpoint stays
 * the head, the fencing token never goes down, the rescuer never re-executes a node that was committed before it
 * came, and a resume afterwards executes nothing.
 */
function checkTrial(
  run: Run,
  workers: { stale: WorkerProcess; rescuer: WorkerProcess },
  rescued: RunReport,
  after: { report: RunReport; token: number | null },
  staleFrozenAt: number,
): string[] {
  const expected = expectedOutput(run.input);
  const staleEnd = outcome(workers.stale, run.runId, 'start');
  const rescue = outcome(workers.rescuer, run.runId, 'rescue');
  const replay = outcome(workers.rescuer, run.runId, 'again');
  if (rescue?.event !== 'result' || rescue.status !== 'success' || (rescue.output as { v?: number })?.v !== expected) {
    return [`the rightful owner did not complete the run: ${JSON.stringify(rescue)}`];
  }
  const problems: string[] = [];
  const executed = rescue.executed as string[];
  if (staleEnd?.event === 'result' && staleEnd.status === 'success') {
    // Possible only when it had finished before it froze: then the rescuer found nothing to do.
    if (executed.length > 0 || staleEnd.checkpointId !== rescue.checkpointId) problems.push(`both workers completed the run: ${staleEnd.checkpointId} (stale) and ${rescue.checkpointId}`);
  } else if (!REFUSALS.has(staleEnd?.error ?? '')) {
    problems.push(`the stale writer ended with ${JSON.stringify(staleEnd)}, expected a refusal (${[...REFUSALS].join(', ')})`);
  }
  const before = workers.rescuer.events.filter((e) => e.event === 'before' && e.pass === 'rescue' && e.runId === run.runId).at(-1)?.completed as string[] | undefined;
  const rerun = executed.filter((node) => before?.includes(node));
  if (rerun.length > 0) problems.push(`the rescuer re-executed committed nodes ${rerun.join(', ')}`);

  problems.push(...checkStorage(rescue.checkpointId!, rescued, after.report));
  // The rescuer's claims up to the end of its rescue: the probe came after, its `again` pass after the probe.
  const rescuedAt = workers.rescuer.of('rescued')[0]!.receivedAt;
  problems.push(...checkTokens(grantsOf(workers.stale, run.runId), grantsOf(workers.rescuer, run.runId, rescuedAt), staleFrozenAt, after.token));
  if (replay?.event !== 'result' || replay.status !== 'success' || (replay.executed as string[]).length > 0 || (replay.output as { v?: number })?.v !== expected) {
    problems.push(`a resume afterwards gave ${JSON.stringify(replay)}, expected success with nothing executed`);
  }
  return problems;
}

/**
 * The run as the rescuer left it, and as it is once the stale writer has woken up: the same checkpoints, the
 * rescuer's last one the head, seqs unique along one chain, every checkpoint loading.
 */
function checkStorage(rescuerHead: string, rescued: RunReport, report: RunReport): string[] {
  const problems: string[] = [];
  const describe = (id: string | null | undefined) => {
    const listed = report.listed.find((c) => c.id === id) ?? rescued.listed.find((c) => c.id === id);
    return `${id} (seq ${listed?.seq}, ${listed?.status})`;
  };
  if (rescued.head !== rescuerHead) problems.push(`right after the rescue the head is ${describe(rescued.head)}, not the rescuer's ${describe(rescuerHead)}`);
  if (report.head !== rescuerHead) problems.push(`after the stale writer woke up the head is ${describe(report.head)}, not the rescuer's ${describe(rescuerHead)}: the head moved`);
  const seqs = report.listed.map((c) => c.seq);
  if (new Set(seqs).size !== seqs.length) problems.push(`duplicate seqs: ${seqs.join(', ')}`);
  if (report.head !== (report.listed[0]?.id ?? null)) problems.push(`getHead() ${describe(report.head)} is not the highest-seq checkpoint ${describe(report.listed[0]?.id)}`);
  const chain = new Set<string>();
  for (let id: string | null | undefined = report.head; id; id = report.listed.find((c) => c.id === id)?.parent) chain.add(id);
  const foreign = report.listed.filter((c) => !chain.has(c.id));
  if (foreign.length > 0) problems.push(`checkpoints off the head's chain (a stale commit): ${foreign.map((c) => `seq ${c.seq} ${c.status}`).join(', ')}`);
  if (report.listed.length !== rescued.listed.length) problems.push(`the stale writer changed the run's checkpoints: ${rescued.listed.length} after the rescue, ${report.listed.length} after it woke up`);
  for (const c of report.loaded) if (c.error !== undefined) problems.push(`checkpoint ${c.id} does not load: ${c.error}`);
  return problems;
}
