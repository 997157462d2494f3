import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import {
  Agent,
  Flow,
  FunctionNode,
  HumanInput,
  InvalidArgumentError,
  MemoryAdapter,
  NodeFailedError,
  ScriptedLLM,
  StepLimitError,
  tool,
  Workflow,
  type AgentState,
  type ChatRequest,
  type CheckpointConfigInput,
  type ToolMessage,
  type WorkflowEvent,
} from '../../src/index.js';

const checkpoint = (extra: Partial<CheckpointConfigInput> = {}): CheckpointConfigInput => ({ enabled: true, backend: new MemoryAdapter(), maxCheckpoints: 1000, ...extra });
const toolResults = (request: ChatRequest) => request.messages.filter((m): m is ToolMessage => m.role === 'tool').map((m) => m.content);
const run = (agent: Agent, input: unknown, config?: CheckpointConfigInput) =>
  new Workflow({ flow: new Flow({ id: 'f', nodes: [agent] }), ...(config ? { checkpoint: config } : {}) }).run(input);

describe('Agent', () => {
  it('describes its tools to the model and validates its options', () => {
    const add = tool({ name: 'add', description: 'Adds two numbers', schema: z.object({ a: z.number(), b: z.number() }), run: ({ a, b }) => a + b });
    const plain = new FunctionNode({ id: 'plain', run: () => 1 });
    const helper = new Agent({ id: 'helper', description: 'Researches', llm: new ScriptedLLM([]) });
    const agent = new Agent({ id: 'a', llm: new ScriptedLLM([]), tools: [add, plain, helper] });
    expect(agent.nodeType).toBe('agent');
    expect(agent.toolSpecs).toEqual([
      { name: 'add', description: 'Adds two numbers', parameters: expect.objectContaining({ type: 'object', required: ['a', 'b'] }) },
      { name: 'plain', description: 'Runs "plain".', parameters: { type: 'object', additionalProperties: true } },
      { name: 'helper', description: 'Researches', parameters: expect.objectContaining({ properties: { task: expect.objectContaining({ type: 'string' }) } }) },
    ]);
    expect(() => new Agent({ id: 'b', llm: new ScriptedLLM([]), tools: [add, add] })).toThrow(/two tools are named "add"/);
    expect(() => new Agent({ id: 'c', llm: new ScriptedLLM([]), maxLoops: 0 })).toThrow(InvalidArgumentError);
    expect(agent.inputSchemaFor('/tool:add')).toBeUndefined();
    expect(agent.inputSchemaFor('/other')).toBeUndefined();
  });

  it('streams tokens as stream_chunk events and gives each LLM call a stable idempotency key', async () => {
    const keys: Array<string | undefined> = [];
    const inner = new ScriptedLLM([{ content: 'let me add', toolCalls: [{ name: 'add', arguments: { a: 2, b: 3 } }] }, 'it is 5']);
    const llm = { chat: (request: ChatRequest, options: Parameters<ScriptedLLM['chat']>[1]) => (keys.push(options?.idempotencyKey), inner.chat(request, options)) };
    const add = tool({ name: 'add', description: 'Adds', schema: z.object({ a: z.number(), b: z.number() }), run: ({ a, b }, ctx) => ({ sum: a + b, key: ctx.idempotencyKey }) });
    const workflow = new Workflow({ flow: new Flow({ id: 'f', nodes: [new Agent({ id: 'calc', llm, tools: [add] })] }) });
    const chunks: WorkflowEvent[] = [];
    workflow.on('stream_chunk', (e) => chunks.push(e));
    const result = await workflow.run({ task: 'add 2 and 3' }, { runId: 'r1' });
    expect(result.output).toBe('it is 5');
    expect(inner.requests[0]!.messages[0]).toEqual({ role: 'user', content: 'add 2 and 3' });
    expect(toolResults(inner.requests[1]!)).toEqual(['{"sum":5,"key":"r1:calc:loop1:call_1_0"}']);
    expect(keys).toEqual(['r1:calc:loop1', 'r1:calc:loop2']);
    expect(chunks.map((e) => [e.nodeId, e.data])).toEqual([
      ['calc', { nodePath: 'calc', loop: 1, delta: 'let' }],
      ['calc', { nodePath: 'calc', loop: 1, delta: ' me' }],
      ['calc', { nodePath: 'calc', loop: 1, delta: ' add' }],
      ['calc', { nodePath: 'calc', loop: 2, delta: 'it' }],
      ['calc', { nodePath: 'calc', loop: 2, delta: ' is' }],
      ['calc', { nodePath: 'calc', loop: 2, delta: ' 5' }],
    ]);
  });

  it('reports unknown tools, invalid arguments and (with report) tool errors back to the model', async () => {
    let explode = 0;
    const risky = tool({ name: 'risky', description: 'May fail', schema: z.object({ n: z.number() }), run: () => { explode += 1; throw new Error('kaboom'); } });
    const llm = new ScriptedLLM([
      { toolCalls: [{ name: 'missing' }, { name: 'risky', arguments: { n: 'x' } }, { name: 'risky', arguments: { n: 1 } }] },
      { toolCalls: [{ name: 'risky', arguments: { n: 1 } }] },
      'gave up',
    ]);
    const result = await run(new Agent({ id: 'a', llm, tools: [risky], onToolError: 'report' }), 'try', checkpoint());
    expect(result.output).toBe('gave up');
    const results = toolResults(llm.requests[2]!);
    expect(results[0]).toBe('Error: there is no tool named "missing"; available: risky.');
    expect(results[1]).toMatch(/^Error: invalid arguments for "risky":[\s\S]*expected number/);
    expect(results.slice(2)).toEqual(['Error: kaboom', 'Error: kaboom']);
    expect(explode).toBe(2);
  });

  it('fails by default when a tool throws, and gives up after maxLoops with StepLimitError', async () => {
    const broken = tool({ name: 'broken', description: 'Fails', schema: z.object({}), run: () => { throw new Error('disk gone'); } });
    const failed = await run(new Agent({ id: 'a', llm: new ScriptedLLM([{ toolCalls: [{ name: 'broken' }] }]), tools: [broken] }), 'go');
    expect(((failed.error as Error).cause as Error).message).toBe('disk gone');

    const loop = new ScriptedLLM(() => ({ toolCalls: [{ name: 'noop', arguments: { at: Math.random() } }] }));
    const noop = new FunctionNode({ id: 'noop', run: () => 'ok' });
    const limited = await run(new Agent({ id: 'looper', llm: loop, tools: [noop], maxLoops: 3 }), { anything: 1 });
    expect(NodeFailedError.isInstance(limited.error)).toBe(true);
    expect(StepLimitError.isInstance((limited.error as Error).cause)).toBe(true);
    expect(((limited.error as Error).cause as Error).message).toMatch(/used all 3 loops/);
    expect(loop.calls).toBe(3);
    expect(loop.requests[0]!.messages[0]!.content).toBe('{"anything":1}');
  });

  it('replays a finished tool call with the same input in a later loop instead of running it again', async () => {
    let runs = 0;
    const lookup = tool({ name: 'lookup', description: 'Looks up', schema: z.object({ id: z.number(), tags: z.array(z.string()) }), run: ({ id }) => (runs += 1, `item ${id}`) });
    const llm = new ScriptedLLM([
      { toolCalls: [{ name: 'lookup', arguments: { id: 1, tags: ['a'] } }] },
      { toolCalls: [{ name: 'lookup', arguments: { tags: ['a'], id: 1 } }] },
      'done',
    ]);
    const workflow = new Workflow({ flow: new Flow({ id: 'f', nodes: [new Agent({ id: 'a', llm, tools: [lookup] })] }), checkpoint: checkpoint() });
    const result = await workflow.run('go');
    expect(result.output).toBe('done');
    expect(runs).toBe(1);
    expect(toolResults(llm.requests[2]!)).toEqual(['item 1', 'item 1']);
    const state = (await workflow.getLatestCheckpoint({ runId: result.runId }))!.nodeStates['a']!.internalState as AgentState;
    expect(state.toolCalls).toEqual([{ key: 'lookup:{"id":1,"tags":["a"]}', at: 2 }]);
  });

  it('with midNodeCheckpoints off commits no loop checkpoint, yet the failure checkpoint still carries the loop', async () => {
    let crash = true;
    const llm = new ScriptedLLM((request) => {
      const turn = request.messages.filter((m) => m.role === 'assistant').length + 1;
      if (turn === 3 && crash) {
        crash = false;
        return new Error('down');
      }
      return turn < 4 ? { toolCalls: [{ name: 'noop', arguments: { turn } }] } : 'finished';
    });
    const workflow = new Workflow({
      flow: new Flow({ id: 'f', nodes: [new Agent({ id: 'a', llm, tools: [new FunctionNode({ id: 'noop', run: () => 'ok' })] })] }),
      checkpoint: checkpoint({ midNodeCheckpoints: false }),
    });
    const failed = await workflow.run('go');
    expect((await workflow.listCheckpoints({ runId: failed.runId })).map((c) => c.status)).toEqual(['failed']);
    const resumed = await workflow.resume({ runId: failed.runId });
    expect(resumed.output).toBe('finished');
    expect(llm.calls).toBe(5);
  });

  it('nests: an agent used as a tool asks a human at boss/tool:helper/tool:approve and resumes inside the helper', async () => {
    const approve = new HumanInput({ id: 'approve', prompt: 'Go ahead?', schema: z.boolean() });
    const helperLLM = new ScriptedLLM((request) =>
      request.messages.some((m) => m.role === 'tool') ? `helper says ${toolResults(request)[0]}` : { toolCalls: [{ name: 'approve' }] },
    );
    const helper = new Agent({ id: 'helper', llm: helperLLM, tools: [approve] });
    const bossLLM = new ScriptedLLM([{ toolCalls: [{ name: 'helper', arguments: { task: 'check with a human' } }] }, 'boss done']);
    const boss = new Agent({ id: 'boss', llm: bossLLM, tools: [helper] });
    expect(boss.inputSchemaFor('/tool:helper/tool:approve')).toBe(approve.schema);
    const workflow = new Workflow({ flow: new Flow({ id: 'nested', nodes: [boss] }), checkpoint: checkpoint() });

    const paused = await workflow.run('start');
    expect(paused.pendingInputs.map((p) => p.nodePath)).toEqual(['boss/tool:helper/tool:approve']);
    expect(helperLLM.requests[0]!.messages[0]).toEqual({ role: 'user', content: 'check with a human' });
    const done = await workflow.resume({ runId: paused.runId, input: { 'boss/tool:helper/tool:approve': true } });
    expect(done.output).toBe('boss done');
    expect(toolResults(bossLLM.requests[1]!)).toEqual(['helper says true']);
    expect(helperLLM.calls).toBe(2);
    expect(bossLLM.calls).toBe(2);
  });

  it('runs without checkpointing', async () => {
    const result = await run(new Agent({ id: 'a', llm: new ScriptedLLM(['plain answer']), system: 'sys' }), 'hi');
    expect(result).toMatchObject({ status: 'success', output: 'plain answer', checkpointId: null });
  });
});
