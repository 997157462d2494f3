import { describe, expect, it } from '@jest/globals';
import {
  executeChild,
  Flow,
  FunctionNode,
  MemoryAdapter,
  Node,
  Subflow,
  Workflow,
  type ChildProgress,
  type NodeContext,
  type WorkflowEvent,
} from '../../src/index.js';

/** A child that counts to `input`, saving after each step; version 2 saves `{ done }`, version 1 saved `{ i }`. */
class Counter extends Node<number, number> {
  readonly nodeType = 'counter';
  override readonly stateVersion = 2;
  readonly seen: Array<{ path: string; key: string; resumed: unknown; isResumed: boolean }> = [];
  crashAt: number | undefined;

  override migrateState(state: unknown, fromVersion: number): unknown {
    return fromVersion === 1 ? { done: (state as { i: number }).i } : state;
  }

  async execute(input: number, ctx: NodeContext): Promise<number> {
    this.seen.push({ path: ctx.nodePath, key: ctx.stepKey('s'), resumed: ctx.resumeState, isResumed: ctx.isResumed });
    let { done } = (ctx.resumeState as { done: number } | undefined) ?? { done: 0 };
    for (; done < input; done++) {
      if (done === this.crashAt) {
        this.crashAt = undefined;
        throw new Error('crash');
      }
      await ctx.saveProgress({ done: done + 1 });
    }
    return done;
  }
}

/** A user-written composite node: runs its child below its own path and keeps the child's progress in its state. */
class Wrapper extends Node<number, number> {
  readonly nodeType = 'wrapper';
  constructor(readonly child: Node, readonly legacy?: ChildProgress) {
    super({ id: 'wrap' });
  }

  async execute(input: number, ctx: NodeContext): Promise<number> {
    const saved = (ctx.resumeState as { child?: ChildProgress } | undefined)?.child ?? this.legacy;
    const output = await executeChild(
      ctx,
      {
        node: this.child,
        nodePath: `${ctx.nodePath}/inner`,
        attempt: ctx.attempt,
        isResumed: saved !== undefined,
        previous: saved,
        save: (child) => ctx.saveProgress({ child }),
      },
      input,
    );
    return output as number;
  }
}

describe('nested nodes (executeChild)', () => {
  it('saves a child through its parent, resumes it from that progress, and keys it by its own path', async () => {
    const counter = new Counter({ id: 'counter' });
    counter.crashAt = 2;
    const workflow = new Workflow({ flow: new Flow({ id: 'f', nodes: [new Wrapper(counter)] }), checkpoint: { enabled: true, backend: new MemoryAdapter() } });
    const failed = await workflow.run(4, { runId: 'r1' });
    expect((await workflow.getLatestCheckpoint({ runId: 'r1' }))!.nodeStates['wrap']!.internalState).toEqual({ child: { state: { done: 2 }, stateVersion: 2 } });
    const resumed = await workflow.resume({ runId: failed.runId });
    expect(resumed.output).toBe(4);
    expect(counter.seen).toEqual([
      { path: 'wrap/inner', key: 'r1:wrap/inner:s', resumed: undefined, isResumed: false },
      { path: 'wrap/inner', key: 'r1:wrap/inner:s', resumed: { done: 2 }, isResumed: true },
    ]);
  });

  it('migrates a child state saved by an older stateVersion', async () => {
    const counter = new Counter({ id: 'counter' });
    const result = await new Workflow({ flow: new Flow({ id: 'f', nodes: [new Wrapper(counter, { state: { i: 3 }, stateVersion: 1 })] }) }).run(5);
    expect(result.output).toBe(5);
    expect(counter.seen[0]!.resumed).toEqual({ done: 3 });
  });
});

describe('Subflow', () => {
  it('runs a flow as a node: inner paths, custom events pass through, lifecycle events stay inside', async () => {
    let fail = true;
    const a = new FunctionNode({ id: 'a', run: (n: number, ctx) => (ctx.emit('progress', { at: ctx.nodePath }), n + 1) });
    const b = new FunctionNode({
      id: 'b',
      dependsOn: [a],
      run: (n: number) => {
        if (fail) {
          fail = false;
          throw new Error('b broke');
        }
        return n * 2;
      },
    });
    const sub = new Subflow({ flow: new Flow({ id: 'inner', nodes: [a, b] }) });
    expect(sub).toMatchObject({ id: 'inner', nodeType: 'subflow' });
    expect(sub.inputSchemaFor('nope')).toBeUndefined();
    const workflow = new Workflow({ flow: new Flow({ id: 'outer', nodes: [sub] }), checkpoint: { enabled: true, backend: new MemoryAdapter() } });
    const events: WorkflowEvent[] = [];
    workflow.on('*', (e) => events.push(e));
    const failed = await workflow.run(1);
    expect(((failed.error as Error).cause as Error).message).toMatch(/^Node "inner\/b" failed: b broke/);
    expect(events.filter((e) => e.type === 'progress')).toEqual([expect.objectContaining({ nodeId: 'inner', data: { at: 'inner/a' } })]);
    expect(events.filter((e) => e.type === 'node_started').map((e) => e.nodeId)).toEqual(['inner']);
    const resumed = await workflow.resume({ runId: failed.runId });
    expect(resumed.output).toBe(4);
    expect(events.filter((e) => e.type === 'progress')).toHaveLength(1);
  });
});
