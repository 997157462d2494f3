import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { Flow, FunctionNode, HumanInput, InvalidArgumentError, MapNode, MemoryAdapter, Subflow, Workflow, type MapState } from '../../src/index.js';

const checkpoint = () => ({ enabled: true, backend: new MemoryAdapter(), maxCheckpoints: 1000 });
const cause = (error: unknown) => (error as Error).cause as Error;

describe('MapNode', () => {
  it('validates its options and its input', async () => {
    const inner = new FunctionNode({ id: 'x', run: (n: number) => n });
    expect(() => new MapNode({ id: 'm', inner, concurrency: 0 })).toThrow(InvalidArgumentError);
    const result = await new Workflow({ flow: new Flow({ id: 'f', nodes: [new MapNode({ id: 'm', inner })] }) }).run('not a list');
    expect(cause(result.error).message).toMatch(/Map "m" needs an array/);
    const map = new MapNode({ id: 'm', inner });
    expect(map.nodeType).toBe('map');
    expect(map.inputSchemaFor('[1]/other')).toBeUndefined();
    expect(map.inputSchemaFor('/x')).toBeUndefined();
  });

  it('refuses to resume over a list that changed length', async () => {
    let list = [1, 2, 3];
    let fail = true;
    const inner = new FunctionNode({ id: 'x', run: (n: number) => { if (n === 2 && fail) { fail = false; throw new Error('no'); } return n; } });
    const workflow = new Workflow({ flow: new Flow({ id: 'f', nodes: [new MapNode({ id: 'm', inner, items: () => list })] }), checkpoint: checkpoint() });
    const failed = await workflow.run(null);
    list = [1, 2];
    const resumed = await workflow.resume({ runId: failed.runId });
    expect(cause(resumed.error).message).toMatch(/had 3 items and now has 2/);
  });

  it('fail-fast aborts running siblings; they stay unfinished and run again on resume', async () => {
    const runs: Record<number, number> = {};
    let failing = true;
    const inner = new FunctionNode({
      id: 'x',
      run: (n: number, ctx) => {
        runs[n] = (runs[n] ?? 0) + 1;
        if (n === 0 && failing) {
          failing = false;
          // Let the sibling start before failing.
          return new Promise((_resolve, reject) => setTimeout(() => reject(new Error('first broke')), 5));
        }
        if (n === 1 && runs[1] === 1) return new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)));
        return n * 10;
      },
    });
    const workflow = new Workflow({ flow: new Flow({ id: 'f', nodes: [new MapNode({ id: 'm', inner, concurrency: 2 })] }), checkpoint: checkpoint() });
    const failed = await workflow.run([0, 1, 2, 3]);
    const iterations = ((await workflow.getLatestCheckpoint({ runId: failed.runId }))!.nodeStates['m']!.internalState as MapState).iterations;
    expect(iterations.map((r) => r?.status ?? null)).toEqual(['failure', 'running', null, null]);
    const resumed = await workflow.resume({ runId: failed.runId });
    expect(resumed.output).toEqual([0, 10, 20, 30]);
    expect(runs).toEqual({ 0: 2, 1: 2, 2: 1, 3: 1 });
  });

  it('is canceled with the run and continues after resume', async () => {
    const controller = new AbortController();
    const runs: number[] = [];
    const inner = new FunctionNode({
      id: 'x',
      run: (n: number, ctx) => {
        runs.push(n);
        if (n === 2 && !controller.signal.aborted) {
          controller.abort(new Error('stop'));
          return new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)));
        }
        return n;
      },
    });
    const workflow = new Workflow({ flow: new Flow({ id: 'f', nodes: [new MapNode({ id: 'm', inner, concurrency: 1 })] }), checkpoint: checkpoint() });
    const canceled = await workflow.run([0, 1, 2, 3], { signal: controller.signal });
    expect(canceled.status).toBe('canceled');
    const resumed = await workflow.resume({ runId: canceled.runId });
    expect(resumed.output).toEqual([0, 1, 2, 3]);
    expect(runs).toEqual([0, 1, 2, 2, 3]);
  });

  it('skips iterations whose inner condition is false', async () => {
    const inner = new FunctionNode({ id: 'x', when: (n: number) => n % 2 === 0, run: (n: number) => n });
    const result = await new Workflow({ flow: new Flow({ id: 'f', nodes: [new MapNode({ id: 'm', inner })] }) }).run([0, 1, 2]);
    expect(result.output).toEqual([0, undefined, 2]);
  });

  it('maps a flow whose human input waits at map[i]/flowId/nodeId', async () => {
    const approve = new HumanInput({ id: 'approve', prompt: (n: number) => `ok ${n}?`, schema: z.boolean() });
    const label = new FunctionNode({ id: 'label', dependsOn: [approve], run: (ok: boolean) => (ok ? 'kept' : 'dropped') });
    const perItem = new Flow({ id: 'item', nodes: [approve, label] });
    const map = new MapNode({ id: 'm', inner: perItem });
    expect(map.inner).toBeInstanceOf(Subflow);
    expect(map.inputSchemaFor('[0]/item/approve')).toBe(approve.schema);
    expect(map.inner.inputSchemaFor('approve')).toBeUndefined();
    const workflow = new Workflow({ flow: new Flow({ id: 'f', nodes: [map] }), checkpoint: checkpoint() });
    const paused = await workflow.run([1, 2]);
    expect(paused.pendingInputs.map((p) => [p.nodePath, p.prompt])).toEqual([
      ['m[0]/item/approve', 'ok 1?'],
      ['m[1]/item/approve', 'ok 2?'],
    ]);
    const done = await workflow.resume({ runId: paused.runId, input: { 'm[0]/item/approve': true, 'm[1]/item/approve': false } });
    expect(done.output).toEqual(['kept', 'dropped']);
  });
});
