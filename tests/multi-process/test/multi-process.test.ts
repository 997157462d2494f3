// DESIGN §5 invariant 5 and §9 crash tests, with real processes on real servers: workers race for the same
// runs, one is SIGKILLed inside a node. (Frozen writers: stale-writer.test.ts; random kills: crash.test.ts.)
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { backendAvailable, type ServerBackendKind } from './namespaces.js';
import { openStorage, type SharedStorage } from './storage.js';
import { killAllWorkers, spawnWorker, until, type WorkerEvent } from './workers.js';

// The backends workers on several machines can share: each runs the same scenarios.
const BACKENDS: ServerBackendKind[] = ['postgres', 'redis'];

const WORKERS = 4;
const RUNS = 50;

/** The worker's flow is a → b → c computing ((x + 1) * 2) + 3. */
const outputFor = (input: number) => (input + 1) * 2 + 3;

const countsOf = (executions: Map<string, number>, runId: string) => ({
  a: executions.get(`${runId}:a`) ?? 0,
  b: executions.get(`${runId}:b`) ?? 0,
  c: executions.get(`${runId}:c`) ?? 0,
});

// However a test ends, no worker outlives it.
afterEach(killAllWorkers);
afterAll(killAllWorkers);

describe.each(BACKENDS)('%s shared by worker processes', (kind) => {
  const available = backendAvailable(kind, 'the multi-process tests');
  const test = available ? it : it.skip;
  let storage: SharedStorage;

  beforeAll(async () => {
    if (available) storage = await openStorage(kind);
  });

  afterAll(async () => {
    await killAllWorkers();
    await storage?.close();
  });

  test(`${WORKERS} workers race to resume the same ${RUNS} runs: each run is resumed by exactly one, all complete, no node runs twice`, async () => {
    // Half the runs failed at b (a completed), half were paused after failing at a.
    const runs = Array.from({ length: RUNS }, (_, i) => ({ runId: `race-${i}`, kind: i % 2 === 0 ? 'failed' : 'paused' }));
    const runIds = runs.map((run) => run.runId);
    await spawnWorker({ ...storage.worker, mode: 'prepare', runs }).finished();
    for (const run of runs) expect((await storage.store.getLatest({ runId: run.runId }))?.status).toBe(run.kind);

    // Each worker tries every run, in its own order.
    const workers = Array.from({ length: WORKERS }, (_, w) =>
      spawnWorker({ ...storage.worker, mode: 'race', runIds: rotate(runIds, w * 13), leaseTtlMs: 30_000 }),
    );
    await until('every worker to be ready', () => (workers.every((w) => w.of('ready').length === 1) ? true : undefined), workers);
    for (const worker of workers) worker.send('go');

    // The winner of a run waits in its first node until released, so every attempt is decided while the run is held.
    const attempts = () => workers.flatMap((w) => w.events.filter((e) => ['entered', 'locked', 'rejected', 'result'].includes(e.event)));
    await until(`all ${WORKERS * RUNS} attempts to be decided`, () => (attempts().length === WORKERS * RUNS ? true : undefined), workers);
    const rejected = attempts().filter((e) => e.event !== 'entered' && e.event !== 'locked');
    expect(rejected).toEqual([]);
    for (const runId of runIds) {
      const onRun = attempts().filter((e) => e.runId === runId);
      expect(onRun.filter((e) => e.event === 'entered')).toHaveLength(1);
      expect(onRun.filter((e) => e.event === 'locked').map((e) => e.error)).toEqual(['RUN_LOCKED', 'RUN_LOCKED', 'RUN_LOCKED']);
    }

    for (const worker of workers) worker.send('release');
    const events = (await Promise.all(workers.map((worker) => worker.finished()))).flat();
    const results = events.filter((e) => e.event === 'result');
    expect(results).toHaveLength(RUNS);
    for (const [index, runId] of runIds.entries()) {
      const [result] = results.filter((e) => e.runId === runId);
      const winner = events.find((e) => e.event === 'entered' && e.runId === runId)!.pid;
      expect(result).toMatchObject({ pid: winner, status: 'success', output: outputFor(index), executed: true });
      const head = await storage.store.getLatest({ runId });
      expect(head?.status).toBe('completed');
      expect(head?.id).toBe(result!.checkpointId);
    }

    // The prepared runs had already completed a (failed ones); resuming runs only what had not completed, once.
    const executions = await storage.executions(runIds);
    for (const run of runs) {
      expect({ runId: run.runId, ...countsOf(executions, run.runId) }).toEqual({
        runId: run.runId,
        a: run.kind === 'failed' ? 0 : 1,
        b: 1,
        c: 1,
      });
    }
  });

  test('a worker SIGKILLed inside a node: after its lease expires another worker resumes the run and finishes it; completed nodes never run again', async () => {
    const runId = 'killed-1';
    const victim = spawnWorker({ ...storage.worker, mode: 'run', runId, input: 5, holdIn: 'b', holdMs: 120_000, leaseTtlMs: 4000 });
    await until('the victim to be inside node b', () => victim.events.find((e) => e.event === 'entered' && e.node === 'b'), [victim]);
    victim.signal('SIGKILL');
    expect(await victim.exited).toEqual({ code: null, signal: 'SIGKILL' });
    // The dead worker's lease still holds the run until it expires (by the storage's clock).
    await expect(storage.store.acquireLease(runId, 'test-probe', 60_000)).rejects.toMatchObject({ code: 'RUN_LOCKED' });

    const rescuer = spawnWorker({ ...storage.worker, mode: 'resume', runId, leaseTtlMs: 1500, retryLockedForMs: 30_000 });
    const result = onlyResult(await rescuer.finished());
    expect(result).toMatchObject({ status: 'success', output: outputFor(5), executed: true });
    const head = await storage.store.getLatest({ runId });
    expect(head?.id).toBe(result.checkpointId);
    expect(head?.status).toBe('completed');
    // a had completed (and was checkpointed) before the kill; b was interrupted, so it ran again.
    expect(countsOf(await storage.executions([runId]), runId)).toEqual({ a: 1, b: 2, c: 1 });
    expect(rescuer.of('entered').map((e) => e.node)).toEqual(['b', 'c']);
  });
});

function onlyResult(events: WorkerEvent[]): WorkerEvent {
  const results = events.filter((e) => e.event === 'result');
  expect(results).toHaveLength(1);
  return results[0]!;
}

function rotate<T>(items: readonly T[], by: number): T[] {
  const shift = by % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}
