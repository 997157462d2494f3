import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import {
  Flow,
  FunctionNode,
  HumanInput,
  InvalidArgumentError,
  LIBRARY_VERSION,
  MemoryAdapter,
  Node,
  NotFoundError,
  Workflow,
  type HeaderRecord,
  type HumanInputChannel,
  type NodeContext,
  type StorageAdapter,
  type WorkflowEvent,
} from '../../src/index.js';

function countingAdapter(overrides: Partial<Record<'deleteHeaders', () => Promise<number>>> = {}) {
  const memory = new MemoryAdapter();
  const headers: HeaderRecord[] = [];
  const adapter: StorageAdapter = Object.assign(Object.create(memory) as MemoryAdapter, {
    putHeader: (header: HeaderRecord, options?: Parameters<StorageAdapter['putHeader']>[1]) => {
      headers.push(header);
      return memory.putHeader(header, options);
    },
    ...overrides,
  });
  return { adapter, headers };
}

const steps = (...ids: string[]) =>
  ids.map((id, i) => new FunctionNode({ id, dependsOn: i > 0 ? [ids[i - 1]!] : [], run: (n: number) => n + 1 }));

describe('Workflow', () => {
  it('stamps checkpoints with the package version', () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, '../../package.json'), 'utf8')) as { version: string };
    expect(LIBRARY_VERSION).toBe(pkg.version);
  });

  it('rejects an invalid configuration', () => {
    const flow = new Flow({ id: 'cfg', nodes: steps('a') });
    expect(() => new Workflow({ flow, checkpoint: { enabled: true } })).toThrow(/no backend is set/);
    expect(() => new Workflow({ flow, checkpoint: { enabled: true, maxCheckpoints: -1, backend: new MemoryAdapter() } })).toThrow(InvalidArgumentError);
    expect(() => new Workflow({ flow, checkpoint: { backend: {} as StorageAdapter } })).toThrow(/StorageAdapter contract/);
    expect(() => new Workflow({ id: 'no/slash', flow })).toThrow(/Workflow id/);
  });

  it('needs checkpointing for resume and inspection', async () => {
    const workflow = new Workflow({ flow: new Flow({ id: 'off', nodes: steps('a') }) });
    await expect(workflow.resume()).rejects.toThrow(/resume\(\) needs checkpointing/);
    await expect(workflow.listCheckpoints()).rejects.toThrow(InvalidArgumentError);
    await expect(workflow.getLatestCheckpoint()).rejects.toThrow(InvalidArgumentError);
    await expect(workflow.getPendingInputs()).rejects.toThrow(InvalidArgumentError);
  });

  it('records identity, input, metadata and version in every checkpoint', async () => {
    const workflow = new Workflow({ id: 'wf', flow: new Flow({ id: 'ident', nodes: steps('a', 'b') }), checkpoint: { enabled: true, backend: new MemoryAdapter() } });
    const traceContext = { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' };
    const result = await workflow.run(1, { runId: 'r-1', tenantId: 'acme', metadata: { user: 'ada' }, traceContext });
    const head = await workflow.getLatestCheckpoint({ runId: 'r-1', tenantId: 'acme' });
    expect(head).toMatchObject({
      id: result.checkpointId,
      flowId: 'ident',
      workflowId: 'wf',
      runId: 'r-1',
      status: 'completed',
      originalInput: 1,
      tenantId: 'acme',
      metadata: { user: 'ada' },
      traceContext,
      libraryVersion: LIBRARY_VERSION,
      completedNodeIds: ['a', 'b'],
      pendingNodeIds: [],
      originalConfig: { workflowId: 'wf', flowId: 'ident', concurrency: 4, checkpoint: expect.objectContaining({ durability: 'sync' }) },
    });
    expect(head?.nodeStates['b']).toMatchObject({ nodeId: 'b', nodeType: 'function', status: 'success', input: 2, output: 3, attempt: 1 });
    expect((await workflow.getLatestCheckpoint())?.id).toBe(result.checkpointId);
    expect((await workflow.listCheckpoints({ limit: 1 }))[0]?.id).toBe(result.checkpointId);
  });

  it('refuses to start a run id that already exists', async () => {
    const workflow = new Workflow({ flow: new Flow({ id: 'dup', nodes: steps('a') }), checkpoint: { enabled: true, backend: new MemoryAdapter() } });
    await workflow.run(0, { runId: 'same' });
    await expect(workflow.run(0, { runId: 'same' })).rejects.toThrow(/already exists/);
    await expect(workflow.run(0, { runId: 'not a safe id' })).rejects.toThrow(InvalidArgumentError);
  });

  it('resumes the flow\'s latest run when neither runId nor checkpointId is given', async () => {
    let fail = true;
    const flaky = new FunctionNode({ id: 'flaky', run: () => { if (fail) { fail = false; throw new Error('once'); } return 'ok'; } });
    const workflow = new Workflow({ flow: new Flow({ id: 'latest', nodes: [flaky] }), checkpoint: { enabled: true, backend: new MemoryAdapter() } });
    await expect(workflow.resume()).rejects.toThrow(NotFoundError);
    await expect(workflow.resume({ runId: 'never-ran' })).rejects.toThrow(NotFoundError);
    const failed = await workflow.run(null);
    const resumed = await workflow.resume();
    expect(resumed).toMatchObject({ status: 'success', output: 'ok', runId: failed.runId });
  });

  it('resuming the head by checkpointId continues the same run', async () => {
    let fail = true;
    const flaky = new FunctionNode({ id: 'flaky', run: () => { if (fail) { fail = false; throw new Error('once'); } return 'ok'; } });
    const workflow = new Workflow({ flow: new Flow({ id: 'by-id', nodes: [flaky] }), checkpoint: { enabled: true, backend: new MemoryAdapter() } });
    const failed = await workflow.run(null);
    const resumed = await workflow.resume({ checkpointId: failed.checkpointId! });
    expect(resumed).toMatchObject({ status: 'success', runId: failed.runId });
    const chain = await workflow.listCheckpoints({ runId: failed.runId });
    expect(chain[chain.length - 2]?.parentCheckpointId).toBe(failed.checkpointId);
  });

  it('emits the lifecycle events of a run in order', async () => {
    const workflow = new Workflow({ flow: new Flow({ id: 'events', nodes: steps('a', 'b') }), checkpoint: { enabled: true, backend: new MemoryAdapter() } });
    const events: WorkflowEvent[] = [];
    const listener = (e: WorkflowEvent) => events.push(e);
    workflow.on('*', listener);
    await workflow.run(0, { runId: 'ev' });
    expect(events.map((e) => `${e.type}${e.nodeId ? `:${e.nodeId}` : ''}`)).toEqual([
      'run_started',
      'node_started:a',
      'node_completed:a',
      'checkpoint_created',
      'node_started:b',
      'node_completed:b',
      'checkpoint_created',
      'checkpoint_created',
      'run_completed',
    ]);
    expect(events.every((e) => e.runId === 'ev')).toBe(true);
    workflow.off('*', listener);
    await workflow.run(0);
    expect(events).toHaveLength(9);
  });

  it('emits resume, pause, failure and cancel events', async () => {
    const ask = new HumanInput({ id: 'ask', prompt: 'go?', schema: z.literal('go') });
    const boom = new FunctionNode({ id: 'boom', dependsOn: [ask], run: () => { throw new Error('boom'); } });
    const workflow = new Workflow({ flow: new Flow({ id: 'ev2', nodes: [ask, boom] }), checkpoint: { enabled: true, backend: new MemoryAdapter() } });
    const types: string[] = [];
    const off = workflow.on('*', (e) => {
      if (!e.type.startsWith('node_') && e.type !== 'checkpoint_created') types.push(e.type);
    });
    const paused = await workflow.run(null);
    await workflow.resume({ runId: paused.runId, input: { ask: 'go' } });
    const canceled = await workflow.run(null, { signal: AbortSignal.abort() });
    off();
    expect(types).toEqual([
      'run_started', 'approval_requested', 'run_paused',
      'checkpoint_resumed', 'run_started', 'approval_received', 'run_failed',
      'run_started', 'run_canceled',
    ]);
    expect(canceled.status).toBe('canceled');
  });

  it('does not write after excluded nodes, and never stores their state', async () => {
    const { adapter, headers } = countingAdapter();
    const workflow = new Workflow({ flow: new Flow({ id: 'excl', nodes: steps('a', 'b', 'c') }), checkpoint: { enabled: true, backend: adapter, excludeNodes: ['b'] } });
    const result = await workflow.run(0);
    expect(headers.map((h) => h.seq)).toEqual([0, 1, 2]);
    const afterC = await workflow.store!.load(headers[1]!.id);
    expect(afterC.completedNodeIds).toEqual(['a', 'c']);
    expect(afterC.nodeStates['b']).toBeUndefined();
    expect(result.output).toBe(3);
  });

  it('encodes a finished node once, not again at every later checkpoint of the run (CPU follows the change)', async () => {
    let reads = 0;
    const first = new FunctionNode({
      id: 'first',
      run: () => ({
        get report() {
          reads += 1;
          return 'r'.repeat(500);
        },
      }),
    });
    // the chain after it ignores its input, so only `first`'s own node state holds the counted value
    const chain = Array.from({ length: 8 }, (_, i) => new FunctionNode({ id: `n${i}`, dependsOn: [i === 0 ? 'first' : `n${i - 1}`], run: () => i }));
    const { adapter, headers } = countingAdapter();
    const workflow = new Workflow({ flow: new Flow({ id: 'follow', nodes: [first, ...chain] }), checkpoint: { enabled: true, backend: adapter } });
    await workflow.run(0);
    expect(headers.length).toBeGreaterThan(8);
    const readsAfterRun = reads;
    // n0 got `first`'s output as its input; every later checkpoint reused both node blobs
    expect(readsAfterRun).toBe(2);
    expect((await workflow.store!.load(headers.at(-1)!.id)).nodeStates['first']!.output).toEqual({ report: 'r'.repeat(500) });
  });

  it('writes only at the end with checkpointAfterNode off', async () => {
    const { adapter, headers } = countingAdapter();
    const workflow = new Workflow({ flow: new Flow({ id: 'end-only', nodes: steps('a', 'b', 'c') }), checkpoint: { enabled: true, backend: adapter, checkpointAfterNode: false } });
    await workflow.run(0);
    expect(headers.map((h) => h.status)).toEqual(['completed']);
  });

  it('writes nothing at failure with checkpointOnFailure off', async () => {
    const { adapter, headers } = countingAdapter();
    const boom = new FunctionNode({ id: 'boom', dependsOn: ['a'], run: () => { throw new Error('boom'); } });
    const workflow = new Workflow({ flow: new Flow({ id: 'no-fail-write', nodes: [...steps('a'), boom] }), checkpoint: { enabled: true, backend: adapter, checkpointOnFailure: false } });
    const result = await workflow.run(0);
    expect(result.status).toBe('failure');
    expect(headers.map((h) => h.status)).toEqual(['active']);
    expect(result.checkpointId).toBe(headers[0]!.id);
  });

  it('applies retention after a run and turns cleanup errors into warnings', async () => {
    const { adapter } = countingAdapter();
    const workflow = new Workflow({ flow: new Flow({ id: 'keep', nodes: steps('a', 'b', 'c') }), checkpoint: { enabled: true, backend: adapter, maxCheckpoints: 2 } });
    const result = await workflow.run(0);
    expect(result.warnings).toEqual([]);
    expect((await workflow.listCheckpoints()).map((c) => c.id)).toContain(result.checkpointId);
    expect((await workflow.listCheckpoints()).length).toBeLessThanOrEqual(2);

    const broken = countingAdapter({ deleteHeaders: () => Promise.reject(new Error('read-only replica')) });
    const strict = new Workflow({ flow: new Flow({ id: 'keep2', nodes: steps('a', 'b', 'c') }), checkpoint: { enabled: true, backend: broken.adapter, maxCheckpoints: 1 } });
    const warned = await strict.run(0);
    expect(warned.status).toBe('success');
    expect(warned.warnings).toEqual([{ code: 'RETENTION_FAILED', message: expect.stringContaining('read-only replica') }]);
  });

  it('migrates saved state written by an older stateVersion', async () => {
    const backend = new MemoryAdapter();
    class V1 extends Node<null, string> {
      readonly nodeType = 'counter';
      async execute(_input: null, ctx: NodeContext): Promise<string> {
        await ctx.saveProgress({ count: 3 });
        throw new Error('crash');
      }
    }
    class V2 extends Node<null, string> {
      readonly nodeType = 'counter';
      override readonly stateVersion = 2;
      override migrateState(state: unknown, fromVersion: number): unknown {
        return { total: (state as { count: number }).count, migratedFrom: fromVersion };
      }
      execute(_input: null, ctx: NodeContext): string {
        return JSON.stringify(ctx.resumeState);
      }
    }
    const old = new Workflow({ flow: new Flow({ id: 'versions', nodes: [new V1({ id: 'counter' })] }), checkpoint: { enabled: true, backend } });
    const failed = await old.run(null);
    const upgraded = new Workflow({ flow: new Flow({ id: 'versions', nodes: [new V2({ id: 'counter' })] }), checkpoint: { enabled: true, backend } });
    const resumed = await upgraded.resume({ runId: failed.runId });
    expect(resumed.output).toBe('{"total":3,"migratedFrom":1}');
  });

  it('takes answers from a live input channel, and pauses when it has none', async () => {
    const approve = new HumanInput({ id: 'approve', prompt: 'ok?', schema: z.object({ ok: z.boolean() }) });
    const workflow = new Workflow({ flow: new Flow({ id: 'live', nodes: [approve] }), checkpoint: { enabled: true, backend: new MemoryAdapter() } });
    const asked: string[] = [];
    const channel = (answer: unknown, answered = true): HumanInputChannel => ({
      request: async (pending) => (asked.push(pending.nodePath), answered ? { answered: true, value: answer } : { answered: false }),
    });
    expect(await workflow.run(null, { inputChannel: channel({ ok: true }) })).toMatchObject({ status: 'success', output: { ok: true } });
    expect((await workflow.run(null, { inputChannel: channel({ ok: 'no' }) })).status).toBe('pending_input');
    const timedOut = await workflow.run(null, { inputChannel: channel(undefined, false) });
    expect(timedOut.status).toBe('pending_input');
    expect(asked).toEqual(['approve', 'approve', 'approve']);
    const answeredLater = await workflow.resume({ runId: timedOut.runId, inputChannel: channel({ ok: false }) });
    expect(answeredLater).toMatchObject({ status: 'success', output: { ok: false } });
  });
});
