// Graceful shutdown (issue 9 §6, DESIGN §8): a workflow stops taking work, lets running nodes finish within the
// grace period or interrupts them, commits a `paused` checkpoint and releases the lease, so another process (here
// another Workflow on the same storage) continues the run at once. Grace periods are either far longer than the test
// (the node is released by the test) or 0 / ended by `interrupt()`: no assertion depends on a clock.
import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import {
  Flow,
  FunctionNode,
  Handoff,
  HumanInput,
  InvalidArgumentError,
  MemoryAdapter,
  ShuttingDownError,
  Workflow,
  type HumanInputChannel,
  type StorageAdapter,
  type WorkflowEvent,
} from '../../src/index.js';
import { deferred } from '../support/suite-harness.js';
import { FakeClock } from './retries.suite.js';

const HOUR = 3_600_000;

/** a → b → c over a number; `b` waits for `release` (or its signal) and records what its signal aborted with. */
function setup(storage: StorageAdapter | null = new MemoryAdapter()) {
  const executions: string[] = [];
  const entered = deferred();
  const release = deferred();
  const abortReasons: unknown[] = [];
  const node = (id: string, dependsOn: string[], run: (x: number, signal: AbortSignal) => Promise<number> | number) =>
    new FunctionNode<number, number>({
      id,
      dependsOn,
      run: (x, ctx) => {
        executions.push(id);
        return run(x, ctx.signal);
      },
    });
  const holdB = async (x: number, signal: AbortSignal): Promise<number> => {
    if (executions.filter((id) => id === 'b').length > 1) return x * 2; // the rerun after a handoff is quick
    entered.resolve();
    await new Promise<void>((resolve, reject) => {
      void release.promise.then(resolve);
      signal.addEventListener('abort', () => {
        abortReasons.push(signal.reason);
        reject(signal.reason as Error);
      });
    });
    return x * 2;
  };
  const flow = () => new Flow({ id: 'handoff', nodes: [node('a', [], (x) => x + 1), node('b', ['a'], holdB), node('c', ['b'], (x) => x + 3)] });
  const checkpoint = storage ? { enabled: true, backend: storage, leaseTtlMs: HOUR } : {};
  // Two workflows on one storage stand for two processes: A shuts down, B continues.
  const a = new Workflow<number, number>({ flow: flow(), checkpoint });
  const b = new Workflow<number, number>({ flow: flow(), checkpoint });
  return { a, b, storage, executions, entered, release, abortReasons };
}

describe('workflow.shutdown()', () => {
  it('lets a running node finish within the grace period, starts nothing after it, commits paused and releases the lease', async () => {
    const { a, b, storage, executions, entered, release } = setup();
    const events: WorkflowEvent[] = [];
    a.on('*', (event) => events.push(event));
    const running = a.run(1, { runId: 'graceful' });
    await entered.promise;

    let shutDown = false;
    const shutdown = a.shutdown({ graceMs: HOUR }).then(() => (shutDown = true));
    await Promise.resolve();
    expect(shutDown).toBe(false); // b is still running
    release.resolve();
    await shutdown;

    const result = await running;
    expect(result).toMatchObject({ status: 'paused', runId: 'graceful', output: undefined, pendingInputs: [] });
    expect(result.error).toBeUndefined();
    expect(events.at(-1)).toMatchObject({ type: 'run_paused', data: { reason: 'shutdown', pendingInputs: [] } });
    const head = await a.getLatestCheckpoint({ runId: 'graceful' });
    expect(head).toMatchObject({ id: result.checkpointId, status: 'paused', completedNodeIds: ['a', 'b'], pendingNodeIds: ['c'] });
    expect(head!.nodeStates.b).toMatchObject({ status: 'success', output: 4 });
    expect(executions).toEqual(['a', 'b']);
    // The lease is free at once: another owner may take the run now, not after the (hour-long) lease ttl.
    const probe = await storage!.acquireLease('graceful', 'another-process', 1000);
    expect(probe).not.toBeNull();
    await storage!.releaseLease(probe!);

    expect(await b.resume({ runId: 'graceful' })).toMatchObject({ status: 'success', output: 7 });
    expect(executions).toEqual(['a', 'b', 'c']);
  });

  it('interrupts a node still running when the grace period ends: its signal says shutdown and it runs again, once, on resume', async () => {
    const { a, b, executions, entered, abortReasons } = setup();
    const running = a.run(1, { runId: 'interrupted' });
    await entered.promise;
    await a.shutdown({ graceMs: 0 });

    const result = await running;
    expect(result).toMatchObject({ status: 'paused', runId: 'interrupted' });
    expect(abortReasons).toHaveLength(1);
    expect(ShuttingDownError.isInstance(abortReasons[0])).toBe(true);
    expect((abortReasons[0] as Error).message).toMatch(/shutting down.*runs again when its run is resumed/);
    const head = await a.getLatestCheckpoint({ runId: 'interrupted' });
    expect(head).toMatchObject({ status: 'paused', completedNodeIds: ['a'], pendingNodeIds: ['b', 'c'] });
    // Recorded as interrupted mid-execution (like a crash), not as failed or canceled.
    expect(head!.nodeStates.b).toMatchObject({ status: 'running', attempt: 1 });
    expect(head!.nodeStates.b!.error).toBeUndefined();

    expect(await b.resume({ runId: 'interrupted' })).toMatchObject({ status: 'success', output: 7 });
    expect(executions).toEqual(['a', 'b', 'b', 'c']);
  });

  it('refuses new runs and resumes with ShuttingDownError from the moment it starts, and resolves once every run has stopped', async () => {
    const { a, entered } = setup();
    const running = a.run(1, { runId: 'first' });
    await entered.promise;
    const shutdown = a.shutdown({ graceMs: HOUR });
    expect(a.shutdown()).toBe(shutdown);

    const refused = a.run(1, { runId: 'second' });
    await expect(refused).rejects.toBeInstanceOf(ShuttingDownError);
    await expect(refused).rejects.toMatchObject({ code: 'SHUTTING_DOWN', message: expect.stringMatching(/another instance/) });
    await expect(a.resume({ runId: 'first' })).rejects.toMatchObject({ code: 'SHUTTING_DOWN' });
    expect(await a.getLatestCheckpoint({ runId: 'second' })).toBeNull();

    // The grace period is an upper bound: interrupting early ends it.
    let resolved = false;
    void shutdown.then(() => (resolved = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(resolved).toBe(false);
    (a as unknown as { handoff: Handoff }).handoff.interrupt();
    await shutdown;
    expect((await running).status).toBe('paused');
  });

  it('resolves at once with nothing running, and refuses a negative grace period', async () => {
    const { a } = setup();
    await expect(a.shutdown({ graceMs: -1 })).rejects.toBeInstanceOf(InvalidArgumentError);
    await a.shutdown({ graceMs: HOUR });
    await expect(a.run(1)).rejects.toMatchObject({ code: 'SHUTTING_DOWN' });
  });

  it('hands over a run that waits live for a human as pending_input, its question (and requestId) still listed', async () => {
    const storage = new MemoryAdapter();
    const flow = new Flow({ id: 'ask', nodes: [new HumanInput({ id: 'approve', prompt: 'Ship it?', schema: z.object({ ok: z.boolean() }) })] });
    const a = new Workflow({ flow, checkpoint: { enabled: true, backend: storage, leaseTtlMs: HOUR } });
    const asked = deferred();
    // A live channel nobody answers: only the shutdown's abort ends the wait.
    const channel: HumanInputChannel = {
      request: (_pending, { signal }) =>
        new Promise((_resolve, reject) => {
          asked.resolve();
          signal.addEventListener('abort', () => reject(signal.reason as Error));
        }),
    };
    const running = a.run(null, { runId: 'asking', inputChannel: channel });
    await asked.promise;
    const [question] = await a.getPendingInputs({ runId: 'asking' });
    await a.shutdown({ graceMs: 0 });

    expect(await running).toMatchObject({ status: 'pending_input', pendingInputs: [{ nodePath: 'approve', requestId: question!.requestId }] });
    const head = await a.getLatestCheckpoint({ runId: 'asking' });
    expect(head).toMatchObject({ status: 'pending_input', pendingInputs: [{ nodePath: 'approve', requestId: question!.requestId }] });
    const b = new Workflow({ flow, checkpoint: { enabled: true, backend: storage } });
    const answered = await b.resume({ runId: 'asking', input: { approve: { ok: true } }, requestIds: { approve: question!.requestId! } });
    expect(answered).toMatchObject({ status: 'success', output: { ok: true } });
  });

  it('also hands over runs when checkpointing is off (nothing is stored; the result says paused)', async () => {
    const { a, executions, entered } = setup(null);
    const running = a.run(1);
    await entered.promise;
    await a.shutdown({ graceMs: 0 });
    expect(await running).toMatchObject({ status: 'paused', checkpointId: null });
    expect(executions).toEqual(['a', 'b']);
  });
});

describe('workflow.shutdown() during a retry back-off', () => {
  it('does not wait the back-off out: the node stops at once with its next attempt due, and the next owner waits only the rest', async () => {
    const storage = new MemoryAdapter();
    let calls = 0;
    const flow = new Flow({
      id: 'backoff',
      nodes: [
        new FunctionNode({
          id: 'call',
          retry: { maxAttempts: 3, initialDelayMs: 60_000 },
          run: () => {
            calls += 1;
            if (calls === 1) throw new Error('the API is down');
            return 'answered';
          },
        }),
      ],
    });
    // A's back-off sleeps until aborted (an hour of grace would otherwise be waited out); B's clock moves at once.
    const a = new Workflow({ flow, clock: new FakeClock(1), checkpoint: { enabled: true, backend: storage, leaseTtlMs: HOUR } });
    const bClock = new FakeClock();
    const b = new Workflow({ flow, clock: bClock, checkpoint: { enabled: true, backend: storage, leaseTtlMs: HOUR } });
    const retrying = deferred();
    a.on('node_retrying', () => retrying.resolve());
    const running = a.run(null, { runId: 'backing-off' });
    await retrying.promise;

    await a.shutdown({ graceMs: HOUR });
    expect(await running).toMatchObject({ status: 'paused' });
    const head = await a.getLatestCheckpoint({ runId: 'backing-off' });
    expect(head?.status).toBe('paused');
    expect(head?.nodeStates.call).toMatchObject({ status: 'running', attempt: 1, attemptsUsed: 1, lastError: { message: 'the API is down' } });
    expect(head?.nodeStates.call?.nextAttemptAt).toBeInstanceOf(Date);

    expect(await b.resume({ runId: 'backing-off' })).toMatchObject({ status: 'success', output: 'answered' });
    expect(bClock.sleeps).toEqual([60_000]); // the same clock start: the whole back-off is still ahead
    expect(calls).toBe(2);
  });
});

describe('RunOptions.handoff', () => {
  it("hands one caller's runs over while the workflow keeps taking work (a server closing, not the workflow)", async () => {
    const { a, b, storage, executions, entered } = setup();
    const handoff = new Handoff();
    const running = a.run(1, { runId: 'served', handoff });
    await entered.promise;
    handoff.begin(0);
    expect(await running).toMatchObject({ status: 'paused' });
    const probe = await storage!.acquireLease('served', 'probe', 1000);
    expect(probe).not.toBeNull();
    await storage!.releaseLease(probe!);

    // The workflow itself is not shutting down: a resume here (or in B) proceeds.
    expect(await a.resume({ runId: 'served' })).toMatchObject({ status: 'success', output: 7 });
    expect(executions).toEqual(['a', 'b', 'b', 'c']);
    expect(await b.run(5, { runId: 'later' })).toMatchObject({ status: 'success' });
  });

  it('begins once: a later begin() keeps the first grace period, interrupt() ends it', () => {
    const handoff = new Handoff();
    expect(handoff.stopping.aborted).toBe(false);
    handoff.begin(HOUR);
    handoff.begin(0);
    expect(handoff.stopping.aborted).toBe(true);
    expect(handoff.interrupting.aborted).toBe(false);
    handoff.interrupt();
    expect(handoff.interrupting.aborted).toBe(true);
    expect(ShuttingDownError.isInstance(handoff.interrupting.reason)).toBe(true);
  });
});

describe('many runs in flight on one workflow', () => {
  it('share its handoff signals (no listener limit, so no MaxListenersExceededWarning) and all hand over on shutdown', async () => {
    // Every run in flight listens to its workflow's handoff signals until it ends: 100 concurrent runs are normal.
    // Node warns (MaxListenersExceededWarning) past the signal's listener cap, 10 unless raised; 0 lifts it. The cap
    // is read where Node keeps it because jest's `process` never hears Node's own warnings, and getMaxListeners()
    // of Node 20 throws for 0.
    const handoff = new Handoff();
    expect([listenerCap(handoff.stopping), listenerCap(handoff.interrupting)]).toEqual([0, 0]);

    let started = 0;
    const allStarted = deferred();
    const waitForAbort = new FunctionNode<number, number>({
      id: 'wait',
      run: (_x, ctx) =>
        new Promise<number>((_resolve, reject) => {
          if (++started === 30) allStarted.resolve();
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error));
        }),
    });
    const workflow = new Workflow<number, number>({ flow: new Flow({ id: 'many', nodes: [waitForAbort] }) });
    const runs = Array.from({ length: 30 }, (_, i) => workflow.run(i, { runId: `many-${i}` }));
    await allStarted.promise;
    await workflow.shutdown({ graceMs: 0 });
    const results = await Promise.all(runs);
    expect(results.map((result) => result.status)).toEqual(Array(30).fill('paused'));
  });
});

function listenerCap(signal: AbortSignal): unknown {
  const key = Object.getOwnPropertySymbols(signal).find((symbol) => symbol.description === 'events.maxEventTargetListeners');
  if (key === undefined) throw new Error('this Node version keeps the listener cap elsewhere: update the test');
  return (signal as unknown as Record<symbol, unknown>)[key];
}
