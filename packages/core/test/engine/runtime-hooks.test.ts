import { describe, expect, it } from '@jest/globals';
import { Flow, FunctionNode, InvalidArgumentError, MemoryAdapter, Workflow } from '../../src/index.js';

// Hooks the runtime bridge relies on: an initial checkpoint before the first node, and a chosen fork runId.
function workflow(run: (n: number) => number | Promise<number> = (n) => n + 1) {
  const backend = new MemoryAdapter();
  const flow = new Flow({ id: 'hooks', nodes: [new FunctionNode({ id: 'a', run }), new FunctionNode({ id: 'b', dependsOn: ['a'], run: (n: number) => n * 2 })] });
  return new Workflow<number, number>({ flow, checkpoint: { enabled: true, backend } });
}

describe('Workflow hooks for hosts', () => {
  it('checkpointOnStart commits an active checkpoint before the first node runs', async () => {
    let seenBeforeFirstNode: { status: string; completed: string[] } | null = null;
    const wf: Workflow<number, number> = workflow(async (n) => {
      const head = await wf.getLatestCheckpoint({ runId: 'r1' });
      seenBeforeFirstNode = head && { status: head.status, completed: head.completedNodeIds };
      return n + 1;
    });
    const result = await wf.run(1, { runId: 'r1', checkpointOnStart: true });
    expect(result).toMatchObject({ status: 'success', output: 4 });
    expect(seenBeforeFirstNode).toEqual({ status: 'active', completed: [] });
    const oldest = (await wf.listCheckpoints({ runId: 'r1' })).at(-1)!;
    expect(oldest).toMatchObject({ seq: 0, status: 'active', completedNodeIds: [] });
  });

  it('writes no initial checkpoint without the option', async () => {
    const wf = workflow();
    await wf.run(1, { runId: 'r2' });
    const oldest = (await wf.listCheckpoints({ runId: 'r2' })).at(-1)!;
    expect(oldest).toMatchObject({ seq: 0, completedNodeIds: ['a'] });
  });

  it('a fork takes the runId it is given, and refuses one that exists', async () => {
    const wf = workflow();
    await wf.run(1, { runId: 'origin' });
    const [, first] = await wf.listCheckpoints({ runId: 'origin' });
    const fork = await wf.resume({ checkpointId: first!.id, forkRunId: 'fork-1' });
    expect(fork).toMatchObject({ runId: 'fork-1', status: 'success', output: 4 });
    await expect(wf.resume({ checkpointId: first!.id, forkRunId: 'fork-1' })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(wf.resume({ checkpointId: first!.id, forkRunId: '../x' })).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});
