import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import {
  CheckpointConfig,
  Flow,
  FunctionNode,
  HumanInput,
  MemoryAdapter,
  NotFoundError,
  RemovedByRetentionError,
  Workflow,
  uuidv7,
  type CheckpointConfigInput,
} from '../../src/index.js';
import { interceptingAdapter, rejection } from '../store/helpers.js';

const DAY = 86_400_000;

/** a -> b -> c, each adding one: 4 checkpoints per run (one per node, the last one `completed`). */
function counting(flowId: string, checkpoint: Omit<CheckpointConfigInput, 'enabled'> = {}) {
  const nodes = ['a', 'b', 'c'].map((id, i, ids) => new FunctionNode({ id, dependsOn: i > 0 ? [ids[i - 1]!] : [], run: (n: number) => n + 1 }));
  const backend = checkpoint.backend ?? new MemoryAdapter();
  return new Workflow<number, number>({ flow: new Flow({ id: flowId, nodes }), checkpoint: { enabled: true, ...checkpoint, backend } });
}

describe('retention in the engine', () => {
  it('keeps every run inspectable, resumable and forkable after 50 runs of one flow (defaults)', async () => {
    const workflow = counting('fifty');
    const runs = [];
    for (let i = 0; i < 50; i += 1) runs.push(await workflow.run(i));
    for (const [i, result] of runs.entries()) {
      const history = await workflow.listCheckpoints({ runId: result.runId });
      expect(history.map((c) => c.seq)).toEqual([3, 2, 1, 0]);
      for (const c of history) await expect(workflow.store!.load(c.id)).resolves.toMatchObject({ runId: result.runId });
      await expect(workflow.resume({ runId: result.runId })).resolves.toMatchObject({ status: 'success', output: i + 3 });
    }
    // time travel from the very first run's first checkpoint: a fork that runs b and c again
    const first = await workflow.listCheckpoints({ runId: runs[0]!.runId });
    const fork = await workflow.resume({ checkpointId: first[first.length - 1]!.id });
    expect(fork).toMatchObject({ status: 'success', output: 3 });
    expect(fork.runId).not.toBe(runs[0]!.runId);
  });

  it('trims the run that ran to maxCheckpointsPerRun and never trims other runs', async () => {
    const { adapter, remaining } = interceptingAdapter(new MemoryAdapter());
    const capped = counting('capped', { backend: adapter, maxCheckpointsPerRun: 2 });
    const first = await capped.run(0);
    expect((await capped.listCheckpoints({ runId: first.runId })).map((c) => c.seq)).toEqual([3, 2]);
    const second = await capped.run(10);
    expect((await capped.listCheckpoints({ runId: first.runId })).map((c) => c.seq)).toEqual([3, 2]);
    expect((await capped.listCheckpoints({ runId: second.runId })).map((c) => c.seq)).toEqual([3, 2]);
  });

  it("collects the trimmed checkpoints' blobs right after the run: its lease is released before retention runs", async () => {
    const { adapter, remaining } = interceptingAdapter(new MemoryAdapter());
    const progress = (flowId: string, checkpoint: Omit<CheckpointConfigInput, 'enabled'>) =>
      new Workflow({
        flow: new Flow({
          id: flowId,
          nodes: [
            new FunctionNode({
              id: 'steps',
              run: async (_input: null, ctx) => {
                for (let step = 1; step <= 4; step += 1) await ctx.saveProgress({ step, notes: `step ${step} `.repeat(60) });
                return 'done';
              },
            }),
          ],
        }),
        checkpoint: { enabled: true, backend: adapter, ...checkpoint },
      });
    const whole = await progress('whole', {}).run(null);
    const capped = await progress('capped', { maxCheckpointsPerRun: 1 }).run(null);
    expect(await remaining(capped.runId)).toBeLessThan(await remaining(whole.runId));
    expect(await progress('capped', {}).store!.cleanup({ runId: capped.runId, maxCheckpointsPerRun: 1 })).toEqual({ deletedCheckpoints: 0, deletedBlobs: 0 });
  });

  it('reads the deprecated maxCheckpoints per run: later runs never delete an earlier run', async () => {
    const workflow = counting('deprecated', { maxCheckpoints: 2 });
    const first = await workflow.run(0);
    for (let i = 1; i < 6; i += 1) await workflow.run(i);
    expect((await workflow.listCheckpoints({ runId: first.runId })).map((c) => c.seq)).toEqual([3, 2]);
    await expect(workflow.resume({ runId: first.runId })).resolves.toMatchObject({ status: 'success', output: 3 });
  });

  it('keeps an unfinished run whole and its head resumable, however long ago it paused', async () => {
    const approve = new HumanInput({ id: 'approve', prompt: 'ok?', schema: z.object({ ok: z.boolean() }) });
    const backend = new MemoryAdapter();
    const workflow = new Workflow({ flow: new Flow({ id: 'waits', nodes: [approve] }), checkpoint: { enabled: true, backend } });
    const paused = await workflow.run(null);
    expect(paused.status).toBe('pending_input');
    await workflow.store!.cleanup({ now: Date.now() + 365 * DAY, maxCheckpointsPerRun: 1 });
    await expect(workflow.resume({ runId: paused.runId, input: { approve: { ok: true } } })).resolves.toMatchObject({ status: 'success' });
  });

  it('says a run was removed by retention, naming the setting, instead of "start it with workflow.run()"', async () => {
    const workflow = counting('aged', { retentionDays: 30 });
    const done = await workflow.run(0);
    const history = await workflow.listCheckpoints({ runId: done.runId });
    const removedAt = Date.now() + 31 * DAY;
    await workflow.store!.cleanup({ flowId: 'aged', retentionDays: 30, now: removedAt });

    const error = await rejection(workflow.resume({ runId: done.runId }));
    expect(RemovedByRetentionError.isInstance(error)).toBe(true);
    expect(NotFoundError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: 'NOT_FOUND', setting: 'retentionDays' });
    expect(error.message).toContain(`Run ${done.runId} was removed by retention (retentionDays: 30) at ${new Date(removedAt).toISOString()}`);
    expect(error.message).toContain('raise checkpoint.retentionDays');
    expect(error.message).not.toContain('start it with workflow.run()');

    // a checkpoint id cannot be traced to its run once it is gone: the error says retention may have removed it
    const byCheckpoint = await rejection(workflow.resume({ checkpointId: history[1]!.id }));
    expect(NotFoundError.isInstance(byCheckpoint)).toBe(true);
    expect(RemovedByRetentionError.isInstance(byCheckpoint)).toBe(false);
    expect(byCheckpoint.message).toContain('may have been removed by retention (retentionDays: 30 removes finished runs 30 days after they end)');
  });

  it("tells a tenant-scoped caller of its own tenant's removed runs only", async () => {
    const workflow = counting('tenants', { retentionDays: 30 });
    const done = await workflow.run(0, { tenantId: 'acme' });
    await workflow.store!.cleanup({ flowId: 'tenants', now: Date.now() + 31 * DAY });
    await expect(workflow.resume({ runId: done.runId, tenantId: 'acme' })).rejects.toThrow(RemovedByRetentionError);
    await expect(workflow.resume({ runId: done.runId })).rejects.toThrow(RemovedByRetentionError);
    const other = await rejection(workflow.resume({ runId: done.runId, tenantId: 'globex' }));
    expect(RemovedByRetentionError.isInstance(other)).toBe(false);
    expect(other.message).toBe(`Run ${done.runId} has no checkpoint; start it with workflow.run().`);
  });

  it('names each configured setting for an unknown checkpoint, and retention only when it is configured', async () => {
    const capped = counting('named', { maxCheckpointsPerRun: 5, retentionDays: 7 });
    const message = (await rejection(capped.resume({ checkpointId: 'unknown-id' }))).message;
    expect(message).toContain("maxCheckpointsPerRun: 5 keeps each run's newest 5; retentionDays: 7");
    const keepsAll = counting('keeps-all', { retentionDays: null });
    const plain = await rejection(keepsAll.resume({ checkpointId: 'unknown-id' }));
    expect(plain.message).toBe('Checkpoint unknown-id not found.');
    await expect(keepsAll.resume({ runId: 'never-ran' })).rejects.toThrow('Run never-ran has no checkpoint; start it with workflow.run().');
  });

  it("removes the flow's finished runs that aged out after a run (at most hourly per instance), and only those", async () => {
    const backend = new MemoryAdapter();
    const workflow = counting('sweeps', { backend });
    const old = await workflow.run(0);
    // the run ended 31 days ago: a successor of its head written with that clock
    const head = await workflow.store!.load(old.checkpointId!);
    const ago = new Date(Date.now() - 31 * DAY);
    await workflow.store!.save({ ...head, id: uuidv7(), seq: head.seq + 1, parentCheckpointId: head.id, createdAt: ago, updatedAt: ago });
    const other = counting('other-flow', { backend });
    const otherRun = await other.run(0);
    const otherHead = await other.store!.load(otherRun.checkpointId!);
    await other.store!.save({ ...otherHead, id: uuidv7(), seq: otherHead.seq + 1, parentCheckpointId: otherHead.id, createdAt: ago, updatedAt: ago });

    // this instance looked for aged-out runs when its first run ended: the next look is due in an hour
    await workflow.run(1);
    await expect(workflow.resume({ runId: old.runId })).resolves.toMatchObject({ status: 'success' });
    // another process (a new instance) looks after its first run
    const elsewhere = counting('sweeps', { backend });
    const fresh = await elsewhere.run(2);
    expect(fresh.warnings).toEqual([]);
    await expect(elsewhere.resume({ runId: old.runId })).rejects.toThrow(RemovedByRetentionError);
    await expect(elsewhere.resume({ runId: fresh.runId })).resolves.toMatchObject({ status: 'success' });
    // another flow's runs are its own workflow's business
    expect(await other.listCheckpoints({ runId: otherRun.runId })).toHaveLength(5);
  });

  it('documents its defaults in the parsed config: no cap per run, 30 days for finished runs', () => {
    const config = CheckpointConfig.parse({});
    expect(config.maxCheckpointsPerRun).toBeUndefined();
    expect(config.maxCheckpoints).toBeUndefined();
    expect(config.retentionDays).toBe(30);
    expect(CheckpointConfig.parse({ retentionDays: null }).retentionDays).toBeNull();
    expect(CheckpointConfig.safeParse({ maxCheckpointsPerRun: 0 }).success).toBe(false);
  });
});
