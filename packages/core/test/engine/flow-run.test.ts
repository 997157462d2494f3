import { describe, expect, it } from '@jest/globals';
import { Choice, Flow, FunctionNode, Workflow, type Node, type WorkflowEvent } from '../../src/index.js';

const plain = (nodes: Node[], concurrency?: number) =>
  new Workflow({ flow: new Flow({ id: 'flow', nodes, ...(concurrency ? { concurrency } : {}) }) });

describe('running a flow', () => {
  it('passes the workflow input to roots, one output to single-dependency nodes, and a map to joins', async () => {
    const seen: Record<string, unknown> = {};
    const record = (id: string, out: unknown) => (input: unknown) => ((seen[id] = input), out);
    const a = new FunctionNode({ id: 'a', run: record('a', 1) });
    const b = new FunctionNode({ id: 'b', run: record('b', 2) });
    const single = new FunctionNode({ id: 'single', dependsOn: [a], run: record('single', 'S') });
    const join = new FunctionNode({ id: 'join', dependsOn: [a, b], run: record('join', 'J') });
    const result = await plain([a, b, single, join]).run({ q: 'x' });
    expect(seen).toEqual({ a: { q: 'x' }, b: { q: 'x' }, single: 1, join: { a: 1, b: 2 } });
    expect(result).toMatchObject({ status: 'success', output: { single: 'S', join: 'J' }, checkpointId: null, warnings: [] });
  });

  it('never runs more nodes at once than the concurrency allows', async () => {
    let active = 0;
    let peak = 0;
    const nodes = Array.from({ length: 6 }, (_, i) =>
      new FunctionNode({
        id: `p${i}`,
        run: async () => {
          active += 1;
          peak = Math.max(peak, active);
          await new Promise((r) => setImmediate(r));
          active -= 1;
          return i;
        },
      }),
    );
    const result = await plain(nodes, 2).run(null);
    expect(result.status).toBe('success');
    expect(peak).toBe(2);
  });

  it('runs only the chosen branch, skips the other and what depends only on it, and joins what ran', async () => {
    const ran: string[] = [];
    const data = new FunctionNode({ id: 'data', run: (n: number) => n * 10 });
    const pick = new Choice({ id: 'pick', dependsOn: [data], choose: (n: number) => (n > 50 ? 'big' : 'small') });
    const big = new FunctionNode({ id: 'big', dependsOn: [data, pick], branch: 'big', run: (i: { data: number }) => (ran.push('big'), `big ${i.data}`) });
    const small = new FunctionNode({ id: 'small', dependsOn: [data, pick], branch: 'small', run: (i: { data: number }) => (ran.push('small'), `small ${i.data}`) });
    const afterSmall = new FunctionNode({ id: 'afterSmall', dependsOn: [small], run: () => ran.push('afterSmall') });
    const join = new FunctionNode({ id: 'join', dependsOn: [big, small], run: (i: Record<string, unknown>) => i });
    const workflow = plain([data, pick, big, small, afterSmall, join]);
    const skipped: WorkflowEvent[] = [];
    workflow.on('node_skipped', (e) => skipped.push(e));

    const result = await workflow.run(7);
    expect(ran).toEqual(['big']);
    expect(result.output).toEqual({ afterSmall: undefined, join: { big: 'big 70', small: undefined } });
    expect(skipped.map((e) => [e.nodeId, (e.data as { reason: string }).reason])).toEqual([
      ['small', 'branch "small" was not chosen'],
      ['afterSmall', 'all dependencies were skipped'],
    ]);
  });

  it('skips a node whose condition is false and gives its condition the input and context', async () => {
    const conditions: unknown[] = [];
    const gate = new FunctionNode({
      id: 'gate',
      when: (input: { go: boolean }, ctx) => (conditions.push([input, ctx.nodeId]), input.go),
      run: () => 'ran',
    });
    expect((await plain([gate]).run({ go: false })).output).toBeUndefined();
    expect((await plain([gate]).run({ go: true })).output).toBe('ran');
    expect(conditions).toEqual([
      [{ go: false }, 'gate'],
      [{ go: true }, 'gate'],
    ]);
  });

  it('fails the run, not the promise, when a condition throws', async () => {
    const gate = new FunctionNode({ id: 'gate', when: () => { throw new Error('bad condition'); }, run: () => 1 });
    const result = await plain([gate]).run(null);
    expect(result.status).toBe('failure');
    expect(((result.error as Error).cause as Error).message).toBe('bad condition');
  });

  it('records non-Error throws and error codes', async () => {
    const events: WorkflowEvent[] = [];
    const stringly = new FunctionNode({ id: 'stringly', run: () => { throw 'plain string'; } });
    const coded = new FunctionNode({ id: 'coded', run: () => { throw Object.assign(new Error('nope'), { code: 'E_NOPE' }); } });
    const workflow = plain([stringly, coded]);
    workflow.on('node_failed', (e) => events.push(e));
    const result = await workflow.run(null);
    expect(result.status).toBe('failure');
    expect(events.map((e) => (e.data as { error: unknown }).error)).toEqual([
      { name: 'Error', message: 'plain string' },
      { name: 'Error', message: 'nope', code: 'E_NOPE' },
    ]);
  });

  it('is canceled before any node when the signal is already aborted', async () => {
    let ran = false;
    const node = new FunctionNode({ id: 'n', run: () => (ran = true) });
    const result = await plain([node]).run(null, { signal: AbortSignal.abort() });
    expect(result.status).toBe('canceled');
    expect(ran).toBe(false);
  });

  it('lets nodes emit custom events', async () => {
    const chunks: WorkflowEvent[] = [];
    const talker = new FunctionNode({ id: 'talker', run: (_i, ctx) => (ctx.emit('stream_chunk', { text: 'hi' }), 'done') });
    const workflow = plain([talker]);
    workflow.on('stream_chunk', (e) => chunks.push(e));
    const result = await workflow.run(null, { runId: 'run-1' });
    expect(chunks).toEqual([{ type: 'stream_chunk', runId: 'run-1', nodeId: 'talker', data: { text: 'hi' }, ts: expect.any(Number) }]);
    expect(result.runId).toBe('run-1');
  });
});

describe('shared node definitions', () => {
  it('keep concurrent runs apart: per-run state lives in the context', async () => {
    const gate: Array<() => void> = [];
    const node = new FunctionNode({
      id: 'echo',
      run: async (input: string, ctx) => {
        await new Promise<void>((resolve) => gate.push(resolve));
        return `${input}@${ctx.runId}`;
      },
    });
    const workflow = plain([node]);
    const first = workflow.run('one', { runId: 'r1' });
    const second = workflow.run('two', { runId: 'r2' });
    while (gate.length < 2) await new Promise((r) => setImmediate(r));
    gate.reverse().forEach((release) => release());
    expect((await first).output).toBe('one@r1');
    expect((await second).output).toBe('two@r2');
  });
});
