// The engine's resume invariants (DESIGN §5), runnable against any StorageAdapter: core runs it with
// MemoryAdapter; backend packages run the same cases against their own storage.
import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import {
  CheckpointWriteError,
  CorruptCheckpointError,
  Flow,
  FunctionNode,
  HumanInput,
  InputAlreadyAnsweredError,
  InvalidResumeInputError,
  LeaseLostError,
  NodeFailedError,
  RunCanceledError,
  RunLockedError,
  Workflow,
  type CheckpointConfigInput,
  type HeaderRecord,
  type Lease,
  type Node,
  type StorageAdapter,
  type WorkflowEvent,
} from '../../src/index.js';
import { deferred, instrument, useBackend, type SuiteBackend } from '../support/suite-harness.js';

export interface EngineInvariantsBackend extends SuiteBackend {
  /** Overwrites the stored data of one blob so it no longer matches its hash. */
  corruptBlob?(adapter: StorageAdapter, runId: string, hash: string): Promise<void>;
}





/** n1 → n2 → … → nN; node i adds i to a running sum, `failOnce` nodes throw on their first execution. */
function chain(count: number, calls: Record<string, number>, failOnce: readonly string[] = []): Node[] {
  const nodes: Node[] = [];
  const failed = new Set<string>();
  for (let i = 1; i <= count; i++) {
    const id = `n${i}`;
    nodes.push(
      new FunctionNode<number, number>({
        id,
        dependsOn: i > 1 ? [`n${i - 1}`] : [],
        run: async (sum) => {
          calls[id] = (calls[id] ?? 0) + 1;
          if (failOnce.includes(id) && !failed.has(id)) {
            failed.add(id);
            throw new Error(`${id} exploded`);
          }
          return sum + i;
        },
      }),
    );
  }
  return nodes;
}

/** Every string in a header body that names a stored blob of the run (format-agnostic). */
async function blobHashesOf(adapter: StorageAdapter, header: HeaderRecord): Promise<Set<string>> {
  const strings = new Set<string>();
  const visit = (value: unknown): void => {
    if (typeof value === 'string') strings.add(value);
    else if (Array.isArray(value)) value.forEach(visit);
    else if (value && typeof value === 'object') Object.values(value).forEach(visit);
  };
  visit(JSON.parse(header.body));
  const found = await adapter.getBlobs(header.runId, [...strings]);
  return new Set(found.keys());
}

export function describeEngineInvariants(name: string, backend: EngineInvariantsBackend): void {
  describe(`engine invariants (${name})`, () => {
    const { ref, config } = useBackend(backend);

    it('resumes a failure at node 3 of 5 without re-running nodes 1–2 and retries node 3', async () => {
      const calls: Record<string, number> = {};
      const workflow = new Workflow({ flow: new Flow({ id: 'five', nodes: chain(5, calls, ['n3']) }), checkpoint: config() });

      const failed = await workflow.run(0);
      expect(failed.status).toBe('failure');
      expect(NodeFailedError.isInstance(failed.error)).toBe(true);
      expect((failed.error as InstanceType<typeof NodeFailedError>).nodeId).toBe('n3');
      expect(((failed.error as Error).cause as Error).message).toBe('n3 exploded');
      const head = await workflow.getLatestCheckpoint({ runId: failed.runId });
      expect(head?.status).toBe('failed');
      expect(head?.id).toBe(failed.checkpointId);
      expect(head?.nodeStates['n3']).toMatchObject({ status: 'failure', error: { message: 'n3 exploded' }, attempt: 1 });

      const resumed = await workflow.resume({ runId: failed.runId });
      expect(resumed).toMatchObject({ status: 'success', output: 15, runId: failed.runId });
      expect(calls).toEqual({ n1: 1, n2: 1, n3: 2, n4: 1, n5: 1 });
      const final = await workflow.getLatestCheckpoint({ runId: failed.runId });
      expect(final?.status).toBe('completed');
      expect(final?.nodeStates['n3']?.attempt).toBe(2);
    });

    it('gives a retried node isResumed, its attempt and a stable idempotency key', async () => {
      const seen: Array<{ isResumed: boolean; attempt: number; key: string }> = [];
      let first = true;
      const flaky = new FunctionNode({
        id: 'flaky',
        run: (_input, ctx) => {
          seen.push({ isResumed: ctx.isResumed, attempt: ctx.attempt, key: ctx.idempotencyKey });
          if (first) {
            first = false;
            throw new Error('rate limited');
          }
          return ctx.stepKey('call-1');
        },
      });
      const workflow = new Workflow({ flow: new Flow({ id: 'flaky', nodes: [flaky] }), checkpoint: config() });
      const failed = await workflow.run(null);
      const resumed = await workflow.resume({ runId: failed.runId });
      expect(seen).toEqual([
        { isResumed: false, attempt: 1, key: `${failed.runId}:flaky` },
        { isResumed: true, attempt: 2, key: `${failed.runId}:flaky` },
      ]);
      expect(resumed.output).toBe(`${failed.runId}:flaky:call-1`);
    });

    it('resuming a completed run executes nothing and returns its output', async () => {
      const calls: Record<string, number> = {};
      const workflow = new Workflow({ flow: new Flow({ id: 'done', nodes: chain(3, calls) }), checkpoint: config() });
      const first = await workflow.run(10);
      const before = await workflow.listCheckpoints({ runId: first.runId });

      const again = await workflow.resume({ runId: first.runId });
      expect(again).toMatchObject({ status: 'success', output: 16, runId: first.runId, checkpointId: first.checkpointId });
      expect(calls).toEqual({ n1: 1, n2: 1, n3: 1 });
      expect(await workflow.listCheckpoints({ runId: first.runId })).toEqual(before);
    });

    it('time travel from checkpoint 2 of 5 forks a new run and leaves the original chain untouched', async () => {
      const calls: Record<string, number> = {};
      const workflow = new Workflow({ flow: new Flow({ id: 'travel', nodes: chain(5, calls) }), checkpoint: config() });
      const original = await workflow.run(0);
      const chainBefore = await workflow.listCheckpoints({ runId: original.runId });
      const second = [...chainBefore].sort((a, b) => a.seq - b.seq)[1]!;
      expect(second.completedNodeIds).toEqual(['n1', 'n2']);

      const fork = await workflow.resume({ checkpointId: second.id });
      expect(fork.status).toBe('success');
      expect(fork.output).toBe(15);
      expect(fork.runId).not.toBe(original.runId);
      expect(calls).toEqual({ n1: 1, n2: 1, n3: 2, n4: 2, n5: 2 });
      expect(await workflow.listCheckpoints({ runId: original.runId })).toEqual(chainBefore);
      const forkChain = await workflow.listCheckpoints({ runId: fork.runId });
      const firstOfFork = forkChain[forkChain.length - 1]!;
      expect(firstOfFork.parentCheckpointId).toBe(second.id);
      expect(forkChain[0]!.id).toBe(fork.checkpointId);
    });

    it('re-runs only the failed one of two parallel branches', async () => {
      const calls: Record<string, number> = {};
      const count = (id: string) => (calls[id] = (calls[id] ?? 0) + 1);
      const a = new FunctionNode({
        id: 'a',
        run: () => {
          if (count('a') === 1) throw new Error('a failed');
          return 'A';
        },
      });
      const b = new FunctionNode({
        id: 'b',
        run: async () => {
          count('b');
          return 'B';
        },
      });
      const join = new FunctionNode({
        id: 'join',
        dependsOn: [a, b],
        run: (input: { a: string; b: string }) => {
          count('join');
          return input.a + input.b;
        },
      });
      const workflow = new Workflow({ flow: new Flow({ id: 'branches', nodes: [a, b, join] }), checkpoint: config() });
      const failed = await workflow.run(null);
      expect(failed.status).toBe('failure');
      const head = await workflow.getLatestCheckpoint({ runId: failed.runId });
      expect(head?.nodeStates['b']?.status).toBe('success');

      const resumed = await workflow.resume({ runId: failed.runId });
      expect(resumed).toMatchObject({ status: 'success', output: 'AB' });
      expect(calls).toEqual({ a: 2, b: 1, join: 1 });
    });

    it('HumanInput pauses, rejects a wrong answer without changing anything, and completes with the right one', async () => {
      const calls: Record<string, number> = {};
      const prep = new FunctionNode({ id: 'prep', run: (topic: string) => ((calls['prep'] = (calls['prep'] ?? 0) + 1), `summary of ${topic}`) });
      const approve = new HumanInput({
        id: 'approve',
        dependsOn: [prep],
        prompt: (summary: string) => `Publish "${summary}"?`,
        schema: z.object({ ok: z.boolean(), note: z.string().optional() }),
        metadata: { channel: 'email' },
        expiresInMs: 60_000,
      });
      const publish = new FunctionNode({
        id: 'publish',
        dependsOn: [approve],
        run: (answer: { ok: boolean }) => ((calls['publish'] = (calls['publish'] ?? 0) + 1), answer.ok ? 'published' : 'dropped'),
      });
      const workflow = new Workflow({ flow: new Flow({ id: 'hitl', nodes: [prep, approve, publish] }), checkpoint: config() });
      const events: WorkflowEvent[] = [];
      workflow.on('approval_requested', (e) => events.push(e));

      const paused = await workflow.run('AI');
      expect(paused.status).toBe('pending_input');
      expect(paused.output).toBeUndefined();
      expect(paused.pendingInputs).toHaveLength(1);
      const pending = paused.pendingInputs[0]!;
      expect(pending).toMatchObject({ nodePath: 'approve', prompt: 'Publish "summary of AI"?', metadata: { channel: 'email' } });
      expect(pending.schema).toMatchObject({ type: 'object', properties: { ok: { type: 'boolean' } } });
      expect(pending.expiresAt!.getTime() - pending.requestedAt.getTime()).toBe(60_000);
      const head = await workflow.getLatestCheckpoint({ runId: paused.runId });
      expect(head?.status).toBe('pending_input');
      expect(head?.nodeStates['approve']?.status).toBe('pending_input');
      expect(await workflow.getPendingInputs({ runId: paused.runId })).toEqual([
        { ...pending, runId: paused.runId, checkpointId: paused.checkpointId },
      ]);
      expect((await workflow.getPendingInputs()).map((p) => p.runId)).toEqual([paused.runId]);
      const checkpointsBefore = await workflow.listCheckpoints({ runId: paused.runId });

      // @ts-expect-error the compiler refuses this answer too; the run must refuse it when it comes from JSON
      const wrong = workflow.resume({ runId: paused.runId, input: { approve: { ok: 'yes' } } });
      await expect(wrong).rejects.toThrow(InvalidResumeInputError);
      const issues = await wrong.catch((e: InstanceType<typeof InvalidResumeInputError>) => e.issues);
      expect(issues).toEqual([expect.objectContaining({ nodePath: 'approve' })]);
      // @ts-expect-error an unknown path, refused by the compiler when static and by the run when not
      await expect(workflow.resume({ runId: paused.runId, input: { elsewhere: { ok: true } } })).rejects.toThrow(/no input is pending at "elsewhere"/);
      expect(await workflow.listCheckpoints({ runId: paused.runId })).toEqual(checkpointsBefore);
      expect(calls).toEqual({ prep: 1 });

      const stillWaiting = await workflow.resume({ runId: paused.runId });
      expect(stillWaiting.status).toBe('pending_input');
      expect(stillWaiting.pendingInputs[0]!.requestedAt).toEqual(pending.requestedAt);
      expect(events.map((e) => (e.data as { isResumed: boolean }).isResumed)).toEqual([false, true]);

      const done = await workflow.resume({ runId: paused.runId, input: { approve: { ok: true } } });
      expect(done).toMatchObject({ status: 'success', output: 'published', pendingInputs: [] });
      expect(calls).toEqual({ prep: 1, publish: 1 });
      const final = await workflow.getLatestCheckpoint({ runId: paused.runId });
      expect(final?.nodeStates['approve']).toMatchObject({ status: 'success', output: { ok: true } });
      expect(final?.pendingInputs).toEqual([]);
      // Answered already: refused as such (issue 9 §4), not as "no input is pending".
      await expect(workflow.resume({ runId: paused.runId, input: { approve: { ok: true } } })).rejects.toThrow(InputAlreadyAnsweredError);
      expect(calls).toEqual({ prep: 1, publish: 1 });
    });

    it('lets several inputs wait at once on parallel branches', async () => {
      const schema = z.enum(['yes', 'no']);
      const legal = new HumanInput({ id: 'legal', prompt: 'Legal ok?', schema });
      const brand = new HumanInput({ id: 'brand', prompt: 'Brand ok?', schema });
      const both = new FunctionNode({ id: 'both', dependsOn: [legal, brand], run: (a: Record<string, string>) => `${a['legal']}/${a['brand']}` });
      const workflow = new Workflow({ flow: new Flow({ id: 'two-approvals', nodes: [legal, brand, both] }), checkpoint: config() });

      const paused = await workflow.run(null);
      expect(paused.pendingInputs.map((p) => p.nodePath).sort()).toEqual(['brand', 'legal']);
      const half = await workflow.resume({ runId: paused.runId, input: { legal: 'yes' } });
      expect(half.status).toBe('pending_input');
      expect(half.pendingInputs.map((p) => p.nodePath)).toEqual(['brand']);
      const done = await workflow.resume({ runId: paused.runId, input: { brand: 'no' } });
      expect(done).toMatchObject({ status: 'success', output: 'yes/no' });
    });

    it('continues with a warning when checkpoint writes fail in continue mode', async () => {
      const { adapter } = instrument(ref.storage, { putHeader: async () => Promise.reject(new Error('disk full')) });
      const calls: Record<string, number> = {};
      const workflow = new Workflow({ flow: new Flow({ id: 'no-disk', nodes: chain(2, calls) }), checkpoint: config({}, adapter) });
      const failedEvents: WorkflowEvent[] = [];
      workflow.on('checkpoint_failed', (e) => failedEvents.push(e));

      const result = await workflow.run(1);
      expect(result).toMatchObject({ status: 'success', output: 4, checkpointId: null });
      expect(result.warnings.length).toBeGreaterThan(0);
      expect(result.warnings[0]).toMatchObject({ code: 'CHECKPOINT_WRITE_FAILED', message: expect.stringContaining('disk full') });
      expect(failedEvents).toHaveLength(result.warnings.filter((w) => w.code === 'CHECKPOINT_WRITE_FAILED').length);
      expect(await ref.storage.getHead(result.runId)).toBeNull();
    });

    it('fails the run with CheckpointWriteError when writes fail in fail mode', async () => {
      const { adapter } = instrument(ref.storage, { putHeader: async () => Promise.reject(new Error('disk full')) });
      const calls: Record<string, number> = {};
      const workflow = new Workflow({
        flow: new Flow({ id: 'no-disk-strict', nodes: chain(3, calls) }),
        checkpoint: config({ onCheckpointError: 'fail' }, adapter),
      });
      const result = await workflow.run(1);
      expect(result.status).toBe('failure');
      expect(CheckpointWriteError.isInstance(result.error)).toBe(true);
      expect(((result.error as Error).cause as Error).message).toBe('disk full');
      expect(calls).toEqual({ n1: 1 });
    });

    if (backend.corruptBlob) {
      const corruptBlob = backend.corruptBlob;
      it('raises CorruptCheckpointError for a corrupt head and falls back to the newest intact ancestor when asked', async () => {
        const calls: Record<string, number> = {};
        const workflow = new Workflow({ flow: new Flow({ id: 'corrupt', nodes: chain(3, calls, ['n3']) }), checkpoint: config() });
        const failed = await workflow.run(0);
        const [head, previous] = await workflow.listCheckpoints({ runId: failed.runId, limit: 2 });
        const headHashes = await blobHashesOf(ref.storage, (await ref.storage.getHeader(head!.id))!);
        const previousHashes = await blobHashesOf(ref.storage, (await ref.storage.getHeader(previous!.id))!);
        const onlyInHead = [...headHashes].filter((hash) => !previousHashes.has(hash));
        expect(onlyInHead.length).toBeGreaterThan(0);
        await corruptBlob(ref.storage, failed.runId, onlyInHead[0]!);

        await expect(workflow.resume({ runId: failed.runId })).rejects.toThrow(CorruptCheckpointError);
        expect(calls).toEqual({ n1: 1, n2: 1, n3: 1 });

        const recovered = await workflow.resume({ runId: failed.runId, fallbackToIntact: true });
        expect(recovered).toMatchObject({ status: 'success', output: 6, runId: failed.runId });
        expect(recovered.warnings).toEqual([expect.objectContaining({ code: 'CHECKPOINT_FALLBACK' })]);
        expect(calls).toEqual({ n1: 1, n2: 1, n3: 2 });
        const latest = await workflow.getLatestCheckpoint({ runId: failed.runId });
        expect(latest?.status).toBe('completed');
      });
    }

    it('falls back past a head whose header was tampered with, and continues after its seq', async () => {
      const calls: Record<string, number> = {};
      const workflow = new Workflow({ flow: new Flow({ id: 'tampered-head', nodes: chain(3, calls, ['n3']) }), checkpoint: config() });
      const failed = await workflow.run(0);
      const header = (await ref.storage.getHeader(failed.checkpointId!))!;
      await ref.storage.deleteHeaders([header.id]);
      await ref.storage.putHeader({ ...header, status: 'completed' });

      await expect(workflow.resume({ runId: failed.runId })).rejects.toThrow(CorruptCheckpointError);
      const recovered = await workflow.resume({ runId: failed.runId, fallbackToIntact: true });
      expect(recovered).toMatchObject({ status: 'success', output: 6, runId: failed.runId });
      expect(recovered.warnings).toEqual(
        expect.arrayContaining([expect.objectContaining({ code: 'CHECKPOINT_FALLBACK' }), expect.objectContaining({ code: 'CORRUPT_CHECKPOINT' })]),
      );
      const newHead = (await ref.storage.getHeader((await ref.storage.getHead(failed.runId))!))!;
      expect(newHead.seq).toBeGreaterThan(header.seq);
    });

    it('with checkpointing off gives the same results and never touches storage', async () => {
      const { adapter, calls: storageCalls } = instrument(ref.storage);
      const runBoth = async (failOnce: string[]) => {
        const offCalls: Record<string, number> = {};
        const onCalls: Record<string, number> = {};
        const off = new Workflow({ flow: new Flow({ id: 'plain', nodes: chain(4, offCalls, failOnce) }), checkpoint: { enabled: false, backend: adapter } });
        const on = new Workflow({ flow: new Flow({ id: 'plain', nodes: chain(4, onCalls, failOnce) }), checkpoint: config() });
        expect(off.store).toBeNull();
        const offResult = await off.run(1);
        const onResult = await on.run(1);
        expect(offCalls).toEqual(onCalls);
        return { offResult, onResult };
      };

      const ok = await runBoth([]);
      expect(ok.offResult).toEqual({ ...ok.onResult, runId: ok.offResult.runId, checkpointId: null });
      expect(ok.offResult.output).toBe(11);

      const broken = await runBoth(['n3']);
      expect(broken.offResult.status).toBe('failure');
      expect(broken.onResult.status).toBe('failure');
      expect((broken.offResult.error as InstanceType<typeof NodeFailedError>).nodeId).toBe('n3');
      expect((broken.onResult.error as InstanceType<typeof NodeFailedError>).nodeId).toBe('n3');
      expect(storageCalls).toEqual([]);
    });

    it('lets exactly one of two concurrent resumers proceed; the other gets RunLockedError', async () => {
      const calls: Record<string, number> = {};
      const workflow = new Workflow({ flow: new Flow({ id: 'race', nodes: chain(3, calls, ['n2']) }), checkpoint: config() });
      const failed = await workflow.run(0);
      const outcomes = await Promise.allSettled([workflow.resume({ runId: failed.runId }), workflow.resume({ runId: failed.runId })]);
      const fulfilled = outcomes.filter((o) => o.status === 'fulfilled');
      const rejected = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
      expect(fulfilled).toHaveLength(1);
      expect(rejected).toHaveLength(1);
      expect(RunLockedError.isInstance(rejected[0]!.reason)).toBe(true);
      expect(calls).toEqual({ n1: 1, n2: 2, n3: 1 });
    });

    it('a stale writer whose lease expired and was taken over cannot commit', async () => {
      // Once `slow` starts, renewals stop landing: the worker believes it still holds the run (a long GC
      // pause, a partition). Until then they are real, so a slow disk cannot expire the lease early.
      let stalled = false;
      const { adapter } = instrument(ref.storage, {
        renewLease: async (lease: Lease, ttlMs: number) => (stalled ? lease : ref.storage.renewLease(lease, ttlMs)),
      });
      const takenOver = deferred();
      const slow = new FunctionNode({
        id: 'slow',
        dependsOn: ['first'],
        run: async () => {
          await takenOver.promise;
          return 'late';
        },
      });
      const first = new FunctionNode({ id: 'first', run: () => 'early' });
      const workflow = new Workflow({ flow: new Flow({ id: 'stale', nodes: [first, slow] }), checkpoint: config({ leaseTtlMs: 600 }, adapter) });
      const runId = 'stale-run-1';
      const heads: string[] = [];
      workflow.on('checkpoint_created', (e) => heads.push((e.data as { checkpointId: string }).checkpointId));
      workflow.on('node_started', (e) => {
        if (e.nodeId !== 'slow') return;
        stalled = true;
        void (async () => {
          while (!(await ref.storage.acquireLease(runId, 'thief', 60_000))) await new Promise((r) => setTimeout(r, 10));
          takenOver.resolve();
        })();
      });

      const result = await workflow.run(null, { runId });
      expect(result.status).toBe('failure');
      expect(LeaseLostError.isInstance(result.error)).toBe(true);
      expect(heads).toHaveLength(1);
      expect(await ref.storage.getHead(runId)).toBe(heads[0]);
      await expect(workflow.resume({ runId })).rejects.toThrow(RunLockedError);
    });

    it('group-commits completions that overlap a write in flight; seq strictly increases', async () => {
      const seqs: number[] = [];
      const { adapter } = instrument(ref.storage, {
        putHeader: (header: HeaderRecord, options) => {
          seqs.push(header.seq);
          return ref.storage.putHeader(header, options);
        },
      });
      const gate = deferred();
      const wide = ['w1', 'w2', 'w3', 'w4'].map((id) => new FunctionNode({ id, run: async () => (await gate.promise, id) }));
      const join = new FunctionNode({ id: 'join', dependsOn: wide, run: (input: Record<string, string>) => Object.keys(input).length });
      const workflow = new Workflow({ flow: new Flow({ id: 'wide', nodes: [...wide, join], concurrency: 4 }), checkpoint: config({}, adapter) });
      let started = 0;
      workflow.on('node_started', () => {
        if (++started === 4) gate.resolve();
      });
      const result = await workflow.run(null);
      expect(result).toMatchObject({ status: 'success', output: 4 });
      const completions = 5;
      expect(seqs.length).toBeLessThan(completions);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      expect(new Set(seqs).size).toBe(seqs.length);
      const head = await workflow.getLatestCheckpoint({ runId: result.runId });
      expect(head).toMatchObject({ status: 'completed', seq: seqs[seqs.length - 1] });
      expect(head?.completedNodeIds.sort()).toEqual(['join', 'w1', 'w2', 'w3', 'w4']);
    });

    it('with sync durability commits a completion before its dependents start', async () => {
      const committedWhenBStarted: string[][] = [];
      const a = new FunctionNode({ id: 'a', run: () => 1 });
      const b = new FunctionNode({
        id: 'b',
        dependsOn: [a],
        run: async (n: number, ctx) => {
          const head = await workflow.getLatestCheckpoint({ runId: ctx.runId });
          committedWhenBStarted.push(head!.completedNodeIds);
          return n + 1;
        },
      });
      const workflow = new Workflow({ flow: new Flow({ id: 'sync', nodes: [a, b] }), checkpoint: config() });
      expect((await workflow.run(null)).output).toBe(2);
      expect(committedWhenBStarted).toEqual([['a']]);
    });

    it('flushes queued commits at the end with async durability', async () => {
      const calls: Record<string, number> = {};
      const workflow = new Workflow({ flow: new Flow({ id: 'async', nodes: chain(5, calls, ['n4']) }), checkpoint: config({ durability: 'async' }) });
      const failed = await workflow.run(0);
      const head = await workflow.getLatestCheckpoint({ runId: failed.runId });
      expect(head).toMatchObject({ id: failed.checkpointId, status: 'failed', completedNodeIds: ['n1', 'n2', 'n3'] });
      const done = await workflow.resume({ runId: failed.runId });
      expect(done).toMatchObject({ status: 'success', output: 15 });
      expect((await workflow.getLatestCheckpoint({ runId: failed.runId }))).toMatchObject({ id: done.checkpointId, status: 'completed' });
      expect(calls).toEqual({ n1: 1, n2: 1, n3: 1, n4: 2, n5: 1 });
    });

    it('cancels through an AbortSignal, records running nodes as canceled, and resumes them', async () => {
      const controller = new AbortController();
      const calls: Record<string, number> = {};
      const first = new FunctionNode({ id: 'first', run: () => ((calls['first'] = (calls['first'] ?? 0) + 1), 1) });
      const long = new FunctionNode({
        id: 'long',
        dependsOn: [first],
        run: (n: number, ctx) => {
          calls['long'] = (calls['long'] ?? 0) + 1;
          if (ctx.isResumed) return n + 1;
          return new Promise<number>((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)));
        },
      });
      const workflow = new Workflow({ flow: new Flow({ id: 'cancel', nodes: [first, long] }), checkpoint: config() });
      workflow.on('node_started', (e) => {
        if (e.nodeId === 'long' && !controller.signal.aborted) controller.abort(new Error('user pressed stop'));
      });
      const canceled = await workflow.run(null, { signal: controller.signal });
      expect(canceled.status).toBe('canceled');
      expect(RunCanceledError.isInstance(canceled.error)).toBe(true);
      const head = await workflow.getLatestCheckpoint({ runId: canceled.runId });
      expect(head?.status).toBe('canceled');
      expect(head?.nodeStates['long']?.status).toBe('canceled');

      const resumed = await workflow.resume({ runId: canceled.runId });
      expect(resumed).toMatchObject({ status: 'success', output: 2 });
      expect(calls).toEqual({ first: 1, long: 2 });
    });

    it('continues a node from the progress it saved (mid-node checkpoint with status running)', async () => {
      const processed: number[] = [];
      let crash = true;
      const loop = new FunctionNode({
        id: 'loop',
        run: async (items: number[], ctx) => {
          let done = (ctx.resumeState as { done: number } | undefined)?.done ?? 0;
          for (; done < items.length; done++) {
            if (done === 2 && crash) {
              crash = false;
              throw new Error('pod restarted');
            }
            processed.push(items[done]!);
            await ctx.saveProgress({ done: done + 1 });
          }
          return processed.length;
        },
      });
      const workflow = new Workflow({ flow: new Flow({ id: 'loop', nodes: [loop] }), checkpoint: config() });
      const failed = await workflow.run([10, 20, 30, 40]);
      const history = await workflow.listCheckpoints({ runId: failed.runId });
      expect(history.map((c) => c.status)).toEqual(['failed', 'active', 'active']);
      const mid = await workflow.store!.load(history[1]!.id);
      expect(mid.nodeStates['loop']).toMatchObject({ status: 'running', internalState: { done: 2 } });

      const resumed = await workflow.resume({ runId: failed.runId });
      expect(resumed).toMatchObject({ status: 'success', output: 4 });
      expect(processed).toEqual([10, 20, 30, 40]);

      // A node that was running when its process died: resuming that checkpoint re-runs it from its progress.
      processed.length = 0;
      const fromMid = await workflow.resume({ checkpointId: history[2]!.id });
      expect(fromMid.status).toBe('success');
      expect(processed).toEqual([20, 30, 40]);
    });
  });
}
