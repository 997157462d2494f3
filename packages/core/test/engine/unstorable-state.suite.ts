// State the codec refuses (a function, a cycle, nesting past its depth limit) fails the run loudly and, when
// anything of the run can be stored, durably: the node holding the value is recorded `failure` without it
// and the run's head is a `failed` checkpoint. Runnable against any StorageAdapter.
import { describe, expect, it } from '@jest/globals';
import {
  Flow,
  FunctionNode,
  InvalidArgumentError,
  UnserializableStateError,
  Workflow,
  type CheckpointConfigInput,
  type Node,
  type WorkflowEvent,
} from '../../src/index.js';
import { useBackend, type SuiteBackend } from '../support/suite-harness.js';

/** An object nested `levels` deep: `{ next: { next: ... } }`. */
function nested(levels: number): Record<string, unknown> {
  let value: Record<string, unknown> = { end: true };
  for (let i = 0; i < levels; i++) value = { next: value };
  return value;
}

export function describeUnstorableState(name: string, backend: SuiteBackend): void {
  describe(`unstorable state (${name})`, () => {
    const { config } = useBackend(backend);

    /** fetch → bad → after; `bad` returns what `produce` gives on each execution. */
    const threeSteps = (produce: (execution: number) => unknown, extra: Partial<CheckpointConfigInput> = {}) => {
      const calls: Record<string, number> = {};
      const count = (id: string) => (calls[id] = (calls[id] ?? 0) + 1);
      const nodes: Node[] = [
        new FunctionNode({ id: 'fetch', run: (q: string) => (count('fetch'), `docs for ${q}`) }),
        new FunctionNode({ id: 'bad', dependsOn: ['fetch'], run: () => produce(count('bad')) }),
        new FunctionNode({ id: 'after', dependsOn: ['bad'], run: (v: unknown) => (count('after'), { got: v }) }),
      ];
      const workflow = new Workflow({ flow: new Flow({ id: 'unstorable', nodes }), checkpoint: config(extra) });
      const failed: WorkflowEvent[] = [];
      workflow.on('run_failed', (e) => failed.push(e));
      return { workflow, calls, failed };
    };

    const expectFailedAt = async (workflow: Workflow, runId: string, path: string) => {
      const head = await workflow.getLatestCheckpoint({ runId });
      expect(head?.status).toBe('failed');
      expect(head!.nodeStates['fetch']).toMatchObject({ status: 'success', output: 'docs for q' });
      expect(head!.nodeStates['bad']).toMatchObject({ status: 'failure', error: { name: 'UnserializableStateError', code: 'UNSERIALIZABLE_STATE' } });
      expect(head!.nodeStates['bad']!.error!.message).toContain(path);
      expect(head!.nodeStates['bad']).not.toHaveProperty('output');
      return head!;
    };

    for (const onCheckpointError of ['continue', 'fail'] as const) {
      it(`an output with a function fails the run at that node and stores it failed (onCheckpointError ${onCheckpointError})`, async () => {
        const { workflow, calls, failed } = threeSteps((n) => (n === 1 ? { ok: true, callback: () => 'no' } : { ok: true }), { onCheckpointError });
        const result = await workflow.run('q');
        expect(result.status).toBe('failure');
        expect(UnserializableStateError.isInstance(result.error)).toBe(true);
        expect((result.error as UnserializableStateError).path).toBe('nodeStates.bad.output.callback');
        expect(result.warnings).toEqual([]);
        expect(calls).toEqual({ fetch: 1, bad: 1 });
        const head = await expectFailedAt(workflow, result.runId, 'nodeStates.bad.output.callback');
        expect(result.checkpointId).toBe(head.id);
        expect(failed.map((e) => e.data)).toEqual([{ error: expect.objectContaining({ code: 'UNSERIALIZABLE_STATE', message: expect.stringContaining('nodeStates.bad.output.callback') }) }]);

        // Once the node is fixed, a resume re-runs only it and what depends on it.
        const resumed = await workflow.resume({ runId: result.runId });
        expect(resumed).toMatchObject({ status: 'success', output: { got: { ok: true } } });
        expect(calls).toEqual({ fetch: 1, bad: 2, after: 1 });
      });
    }

    it('an output nested deeper than the codec allows fails the run with the path, stored failed', async () => {
      const { workflow, calls } = threeSteps(() => nested(5_000));
      const result = await workflow.run('q');
      expect(result.status).toBe('failure');
      expect(UnserializableStateError.isInstance(result.error)).toBe(true);
      expect((result.error as UnserializableStateError).path).toMatch(/^nodeStates\.bad\.output(\.next)+$/);
      expect(calls).toEqual({ fetch: 1, bad: 1 });
      await expectFailedAt(workflow, result.runId, 'nodeStates.bad.output.next');
    });

    it('is found at the last write too (async durability, no checkpoint after each node)', async () => {
      for (const extra of [{ durability: 'async' as const }, { checkpointAfterNode: false }]) {
        const { workflow } = threeSteps(() => ({ callback: () => 'no' }), extra);
        const result = await workflow.run('q');
        expect(result.status).toBe('failure');
        expect(UnserializableStateError.isInstance(result.error)).toBe(true);
        await expectFailedAt(workflow, result.runId, 'nodeStates.bad.output.callback');
      }
    });

    it('progress that cannot be stored fails the node; its last stored progress is kept for the resume', async () => {
      const seen: unknown[] = [];
      let broken = true;
      const worker = new FunctionNode({
        id: 'worker',
        run: async (_: null, ctx) => {
          seen.push(ctx.resumeState);
          await ctx.saveProgress({ step: 1 });
          await ctx.saveProgress(broken ? { step: 2, socket: () => 'open' } : { step: 2 });
          return 'done';
        },
      });
      const workflow = new Workflow({ flow: new Flow({ id: 'progress', nodes: [worker] }), checkpoint: config() });
      const result = await workflow.run(null);
      expect(result.status).toBe('failure');
      expect((result.error as UnserializableStateError).path).toBe('nodeStates.worker.internalState.socket');
      const head = await workflow.getLatestCheckpoint({ runId: result.runId });
      expect(head).toMatchObject({ status: 'failed', nodeStates: { worker: { status: 'failure', internalState: { step: 1 }, error: { code: 'UNSERIALIZABLE_STATE' } } } });

      broken = false;
      expect(await workflow.resume({ runId: result.runId })).toMatchObject({ status: 'success', output: 'done' });
      expect(seen).toEqual([undefined, { step: 1 }]);
    });

    it('a checkpoint that fails validation fails the run (not a warning), whatever onCheckpointError says', async () => {
      const { workflow, calls, failed } = threeSteps(() => 'fine');
      const result = await workflow.run('q', { metadata: 'not an object' as unknown as Record<string, unknown> });
      expect(result).toMatchObject({ status: 'failure', checkpointId: null, warnings: [] });
      expect(InvalidArgumentError.isInstance(result.error)).toBe(true);
      expect(result.error!.message).toMatch(/metadata/);
      expect(calls).toEqual({ fetch: 1 });
      expect(failed.map((e) => e.data)).toEqual([{ error: expect.objectContaining({ code: 'INVALID_ARGUMENT' }) }]);
      expect(await workflow.store!.getHead(result.runId)).toBeNull();
    });

    it('a run whose input cannot be stored resolves failure with the typed error and stores nothing', async () => {
      for (const checkpointOnStart of [false, true]) {
        const { workflow, calls, failed } = threeSteps(() => 'fine');
        const input = { query: 'q', onDone: () => 'no' };
        const result = await workflow.run(input as unknown as string, { checkpointOnStart });
        expect(result).toMatchObject({ status: 'failure', checkpointId: null });
        expect(UnserializableStateError.isInstance(result.error)).toBe(true);
        expect((result.error as UnserializableStateError).path).toBe('originalInput.onDone');
        expect(failed).toHaveLength(1);
        expect(await workflow.getLatestCheckpoint({ runId: result.runId })).toBeNull();
        expect(await workflow.listCheckpoints({ runId: result.runId })).toEqual([]);
        expect(await workflow.store!.getHead(result.runId)).toBeNull();
        // With a checkpoint before the first node, no node runs on an input that cannot be stored.
        expect(calls).toEqual(checkpointOnStart ? {} : { fetch: 1 });
        // Nothing is left locked either: the same runId can be started again with a storable input.
        expect(await workflow.run('q', { runId: result.runId })).toMatchObject({ status: 'success' });
      }
    });
  });
}
