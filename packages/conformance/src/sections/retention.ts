import { describe, expect, it } from '@jest/globals';
import { Flow, FunctionNode, RemovedByRetentionError, Workflow, type CheckpointStatus, type FlowCheckpoint } from '@savepoint/core';
import { makeCheckpoint } from '../fixtures.js';
import { blobsWritten, recordBlobWrites } from '../record-blob-writes.js';
import type { SuiteContext } from '../suite-context.js';

const DAY = 86_400_000;
const ids = (rows: ReadonlyArray<{ id: string }>) => rows.map((row) => row.id);
/** The newest `n` of a run's checkpoints (saved oldest first), newest first: what `listByRun` answers. */
const newest = (run: readonly FlowCheckpoint[], n: number) => ids([...run].reverse().slice(0, n));

/** Retention run by run, end to end through `CheckpointStore.cleanup` and a `Workflow`. */
export function retentionTests(ctx: SuiteContext): void {
  describe('retention', () => {
    /** One run of checkpoints with these statuses (oldest first), each with state of its own, last updated `at`. */
    function run(runId: string, statuses: CheckpointStatus[], at: number, flowId = 'flow-a'): FlowCheckpoint[] {
      const time = new Date(at);
      return statuses.map((status, seq) =>
        makeCheckpoint({
          runId,
          flowId,
          seq,
          status,
          originalInput: { runId, seq },
          ...(status === 'pending_input'
            ? { pendingInputs: [{ nodePath: 'approve', prompt: 'ok?', schema: {}, requestedAt: time, metadata: {} }] }
            : {}),
          createdAt: time,
          updatedAt: time,
        }),
      );
    }

    async function saveAll(runs: Record<string, FlowCheckpoint[]>) {
      const recorded = recordBlobWrites(ctx.adapter());
      const store = ctx.store(recorded.adapter);
      for (const checkpoints of Object.values(runs)) for (const checkpoint of checkpoints) await store.save(checkpoint);
      const blobsOf = (runId: string) => [...blobsWritten(recorded.writes.filter((write) => write.runId === runId)).keys()];
      return { store, blobsOf };
    }

    it('50 runs of one flow: every run stays inspectable and its head resumable or forkable', async () => {
      const nodes = ['a', 'b', 'c'].map((id, i, all) => new FunctionNode({ id, dependsOn: i > 0 ? [all[i - 1]!] : [], run: (n: number) => n + 1 }));
      // the defaults, as a user who never read about retention gets them
      const workflow = new Workflow<number, number>({ flow: new Flow({ id: 'fifty', nodes }), checkpoint: { enabled: true, backend: ctx.adapter() } });
      const runIds: string[] = [];
      for (let i = 0; i < 50; i += 1) runIds.push((await workflow.run(i)).runId);
      const store = ctx.store();
      for (const [i, runId] of runIds.entries()) {
        const history = await store.listByRun(runId);
        expect(history.map((c) => c.seq)).toEqual([3, 2, 1, 0]);
        for (const checkpoint of history) expect((await store.load(checkpoint.id)).runId).toBe(runId);
        expect(await workflow.resume({ runId })).toMatchObject({ status: 'success', output: i + 3, runId });
      }
      const first = await store.listByRun(runIds[0]!);
      const fork = await workflow.resume({ checkpointId: first[first.length - 1]!.id });
      expect(fork).toMatchObject({ status: 'success', output: 3 });
      expect(fork.runId).not.toBe(runIds[0]);
    }, 120_000);

    it('maxCheckpointsPerRun trims each run to its newest N, its head always, and collects the trimmed blobs', async () => {
      const now = Date.now();
      const runs = {
        done: run('r-done', ['active', 'active', 'active', 'completed'], now),
        busy: run('r-busy', ['active', 'active', 'active'], now),
        waiting: run('r-wait', ['active', 'pending_input'], now),
        single: run('r-single', ['failed'], now),
      };
      const { store, blobsOf } = await saveAll(runs);
      const result = await store.cleanup({ flowId: 'flow-a', maxCheckpointsPerRun: 2 });
      expect(result.deletedCheckpoints).toBe(2 + 1);
      expect(result.deletedBlobs).toBeGreaterThan(0);
      expect(ids(await store.listByRun('r-done'))).toEqual(newest(runs.done, 2));
      expect(ids(await store.listByRun('r-busy'))).toEqual(newest(runs.busy, 2));
      expect(ids(await store.listByRun('r-wait'))).toEqual(newest(runs.waiting, 2));
      expect(ids(await store.listByRun('r-single'))).toEqual(newest(runs.single, 1));
      for (const checkpoint of [...runs.done.slice(2), ...runs.busy.slice(1), ...runs.waiting, ...runs.single]) {
        expect(await ctx.store().load(checkpoint.id)).toEqual(checkpoint);
      }
      // the trimmed checkpoints' own blobs are gone (the kept ones still load, above)
      expect((await ctx.adapter().getBlobs('r-done', blobsOf('r-done'))).size).toBeLessThan(blobsOf('r-done').length);

      // one run at a time, and the deprecated maxCheckpoints counts per run too
      expect((await store.cleanup({ runId: 'r-busy', maxCheckpointsPerRun: 1 })).deletedCheckpoints).toBe(1);
      expect(ids(await store.listByRun('r-done'))).toEqual(newest(runs.done, 2));
      expect((await store.cleanup({ maxCheckpoints: 1 })).deletedCheckpoints).toBe(2);
      expect(ids(await store.listByFlow('flow-a')).sort()).toEqual(
        [...newest(runs.done, 1), ...newest(runs.busy, 1), ...newest(runs.waiting, 1), ...newest(runs.single, 1)].sort(),
      );
    });

    it('retentionDays removes finished runs whose head is older, blobs included, and says so on resume', async () => {
      const now = Date.UTC(2025, 5, 1);
      const old = now - 31 * DAY;
      const runs = {
        completed: run('r-completed', ['active', 'completed'], old),
        failed: run('r-failed', ['failed'], old),
        canceled: run('r-canceled', ['active', 'canceled'], old),
        active: run('r-active', ['active', 'active'], old),
        waiting: run('r-wait', ['active', 'pending_input'], old),
        young: run('r-young', ['active', 'completed'], now - 29 * DAY),
        otherFlow: run('r-other', ['completed'], old, 'flow-b'),
      };
      const { store, blobsOf } = await saveAll(runs);
      const stateBlobs = new Map(['r-completed', 'r-failed', 'r-canceled'].map((runId) => [runId, blobsOf(runId)]));
      const result = await store.cleanup({ flowId: 'flow-a', retentionDays: 30, now });
      expect(result.deletedCheckpoints).toBe(5);
      for (const runId of ['r-completed', 'r-failed', 'r-canceled']) {
        expect(await store.listByRun(runId)).toEqual([]);
        expect(await ctx.adapter().getHead(runId)).toBeNull();
        expect(await ctx.adapter().getBlobs(runId, stateBlobs.get(runId)!)).toEqual(new Map());
        expect(await store.removedByRetention(runId)).toMatchObject({ runId, setting: 'retentionDays', retentionDays: 30, removedAt: now });
      }
      for (const [name, checkpoints] of Object.entries(runs).filter(([name]) => !['completed', 'failed', 'canceled'].includes(name))) {
        expect([name, ids(await store.listByRun(checkpoints[0]!.runId))]).toEqual([name, newest(checkpoints, checkpoints.length)]);
      }
      expect(await store.removedByRetention('r-young')).toBeNull();

      const workflow = new Workflow({ flow: new Flow({ id: 'flow-a', nodes: [new FunctionNode({ id: 'fetch', run: () => 1 })] }), checkpoint: { enabled: true, backend: ctx.adapter() } });
      const error = await workflow.resume({ runId: 'r-failed' }).then(
        () => new Error('expected a rejection'),
        (rejected: Error) => rejected,
      );
      expect(RemovedByRetentionError.isInstance(error)).toBe(true);
      expect(error.message).toContain('Run r-failed was removed by retention (retentionDays: 30)');
    });

    it('cleanup of another flow or run leaves this one alone', async () => {
      const at = Date.now() - 40 * DAY;
      const { store } = await saveAll({ done: run('r-done', ['active', 'active', 'completed'], at) });
      expect(await store.cleanup({ flowId: 'flow-b', maxCheckpointsPerRun: 1, retentionDays: 1 })).toEqual({ deletedCheckpoints: 0, deletedBlobs: 0 });
      expect(await store.cleanup({ runId: 'r-other', maxCheckpointsPerRun: 1, retentionDays: 1 })).toEqual({ deletedCheckpoints: 0, deletedBlobs: 0 });
      expect(await store.listByRun('r-done')).toHaveLength(3);
    });
  });
}
