import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { Choice, Flow, FunctionNode, HumanInput, MemoryAdapter, Workflow } from '../../src/index.js';

describe('FunctionNode', () => {
  it('runs a sync or async function with the input and context', async () => {
    const sync = new FunctionNode({ id: 'sync', run: (n: number, ctx) => `${ctx.nodeId}:${n}` });
    const later = new FunctionNode({ id: 'later', dependsOn: [sync], run: async (s: string) => s.toUpperCase() });
    expect(sync.nodeType).toBe('function');
    const result = await new Workflow({ flow: new Flow({ id: 'fns', nodes: [sync, later] }) }).run(3);
    expect(result.output).toBe('SYNC:3');
  });
});

describe('Choice', () => {
  it('records its key once: a resume reuses it instead of choosing again', async () => {
    let chosen = 0;
    let failOnce = true;
    const pick = new Choice({ id: 'pick', choose: () => (++chosen === 1 ? 'left' : 'right') });
    const left = new FunctionNode({
      id: 'left',
      dependsOn: [pick],
      branch: 'left',
      run: () => {
        if (failOnce) {
          failOnce = false;
          throw new Error('flaky');
        }
        return 'went left';
      },
    });
    const right = new FunctionNode({ id: 'right', dependsOn: [pick], branch: 'right', run: () => 'went right' });
    const workflow = new Workflow({ flow: new Flow({ id: 'choose', nodes: [pick, left, right] }), checkpoint: { enabled: true, backend: new MemoryAdapter() } });
    const failed = await workflow.run(null);
    expect(failed.status).toBe('failure');
    const resumed = await workflow.resume({ runId: failed.runId });
    expect(resumed.output).toEqual({ left: 'went left', right: undefined });
    expect(chosen).toBe(1);
    expect(pick.nodeType).toBe('choice');
  });

  it('fails when choose does not return a key', async () => {
    const pick = new Choice({ id: 'pick', choose: () => 42 as unknown as string });
    const result = await new Workflow({ flow: new Flow({ id: 'bad-choice', nodes: [pick] }) }).run(null);
    expect(result.status).toBe('failure');
    expect(((result.error as Error).cause as Error).message).toMatch(/must return a branch key/);
  });
});

describe('HumanInput', () => {
  it('pauses with a JSON Schema of its zod schema and no expiry unless asked', async () => {
    const ask = new HumanInput({ id: 'ask', prompt: 'Which color?', schema: z.enum(['red', 'blue']) });
    expect(ask.nodeType).toBe('human_input');
    expect(ask.inputSchemaFor('')).toBe(ask.schema);
    expect(ask.inputSchemaFor('/x')).toBeUndefined();
    const result = await new Workflow({ flow: new Flow({ id: 'color', nodes: [ask] }) }).run(null);
    expect(result.status).toBe('pending_input');
    expect(result.pendingInputs).toEqual([
      {
        nodePath: 'ask',
        requestId: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
        prompt: 'Which color?',
        schema: expect.objectContaining({ enum: ['red', 'blue'] }),
        requestedAt: expect.any(Date),
        metadata: {},
      },
    ]);
  });

  it('returns the validated (transformed) answer as its output', async () => {
    const ask = new HumanInput({ id: 'age', prompt: 'Age?', schema: z.string().transform((s) => Number(s)) });
    const workflow = new Workflow({ flow: new Flow({ id: 'age', nodes: [ask] }), checkpoint: { enabled: true, backend: new MemoryAdapter() } });
    const paused = await workflow.run(null);
    const done = await workflow.resume({ runId: paused.runId, input: { age: '42' } });
    expect(done.output).toBe(42);
  });
});
