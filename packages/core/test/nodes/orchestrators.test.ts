import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import {
  END,
  Flow,
  FunctionNode,
  GraphOrchestrator,
  HumanInput,
  InvalidArgumentError,
  LinearOrchestrator,
  LLMRequestError,
  MemoryAdapter,
  ScriptedLLM,
  StepLimitError,
  Workflow,
} from '../../src/index.js';

const checkpoint = () => ({ enabled: true, backend: new MemoryAdapter(), maxCheckpoints: 1000 });
const cause = (error: unknown) => (error as Error).cause as Error;
const echo = (id: string) => new FunctionNode({ id, run: (input: unknown) => `${id}(${String(input)})` });
const wf = (node: LinearOrchestrator | GraphOrchestrator, withCheckpoints = false) =>
  new Workflow({ flow: new Flow({ id: 'f', nodes: [node] }), ...(withCheckpoints ? { checkpoint: checkpoint() } : {}) });

describe('LinearOrchestrator', () => {
  it('plans with a function and feeds each result to the next task through taskInput', async () => {
    const orchestrator = new LinearOrchestrator({
      id: 'lin',
      manager: (goal: string) => [`a ${goal}`, { description: `b ${goal}`, agent: 'w2' }],
      agents: [echo('w1'), echo('w2')],
      taskInput: (task, previous, index) => `${index}:${task.description}:${String(previous)}`,
    });
    expect(orchestrator.nodeType).toBe('linear_orchestrator');
    const result = await wf(orchestrator).run('x');
    expect(result.output).toEqual({
      tasks: [{ description: 'a x' }, { description: 'b x', agent: 'w2' }],
      results: ['w1(0:a x:undefined)', 'w2(1:b x:w1(0:a x:undefined))'],
      output: 'w2(1:b x:w1(0:a x:undefined))',
    });
  });

  it('rejects plans it cannot use and re-asks the manager on resume when planning failed', async () => {
    const manager = new ScriptedLLM(['I would rather not', '```json\n{"tasks":[{"description":"t","agent":"ghost"}]}\n```', '{"tasks":[]}', '{"tasks":["only task"]}']);
    const workflow = wf(new LinearOrchestrator({ id: 'lin', manager, agents: [echo('w')] }), true);
    const first = await workflow.run('goal');
    expect(LLMRequestError.isInstance(cause(first.error))).toBe(true);
    expect(cause(first.error).message).toMatch(/not the JSON asked for .*Resume the run/);
    const second = await workflow.resume({ runId: first.runId });
    expect(cause(second.error).message).toMatch(/names agent "ghost"/);
    const third = await workflow.resume({ runId: first.runId });
    expect(cause(third.error).message).toMatch(/plan has 0 tasks/);
    const done = await workflow.resume({ runId: first.runId });
    expect(done.output).toMatchObject({ results: ['w(only task)'] });
    expect(manager.requests[0]!.messages[0]!.content).toMatch(/- w: a worker/);
    expect(() => new LinearOrchestrator({ id: 'x', manager, agents: [] })).toThrow(InvalidArgumentError);
  });

  it('addresses human input in a task as lin[i]/workerId', async () => {
    const review = new HumanInput({ id: 'review', prompt: (text: string) => `Review: ${text}`, schema: z.string() });
    const orchestrator = new LinearOrchestrator({ id: 'lin', manager: () => [{ description: 'draft', agent: 'w' }, { description: 'review', agent: 'review' }], agents: [echo('w'), review] });
    expect(orchestrator.inputSchemaFor('[1]/review')).toBe(review.schema);
    expect(orchestrator.inputSchemaFor('[1]/nobody')).toBeUndefined();
    const workflow = wf(orchestrator, true);
    const paused = await workflow.run('go');
    expect(paused.pendingInputs.map((p) => [p.nodePath, p.prompt])).toEqual([['lin[1]/review', 'Review: review\n\nResult of the previous task:\nw(draft)']]);
    const done = await workflow.resume({ runId: paused.runId, input: { 'lin[1]/review': 'looks good' } });
    expect(done.output).toMatchObject({ output: 'looks good' });
  });
});

describe('GraphOrchestrator', () => {
  it('validates its states and transitions', () => {
    const node = echo('n');
    expect(() => new GraphOrchestrator({ id: 'g', start: 'nope', states: { a: { node } } })).toThrow(/start "nope" is not a state/);
    expect(() => new GraphOrchestrator({ id: 'g', start: 'a', states: { a: { node, next: ['b'] } } })).toThrow(/lists next state "b"/);
    expect(() => new GraphOrchestrator({ id: 'g', start: 'a', states: { a: { node, next: ['a', END] } } })).toThrow(/router LLM/);
    expect(() => new GraphOrchestrator({ id: 'g', start: END, states: { [END]: { node } } })).toThrow(/reserved/);
    expect(() => new GraphOrchestrator({ id: 'g', start: 'a', states: { 'a/b': { node } } })).toThrow(InvalidArgumentError);
  });

  it('follows choose(), custom inputs and context updates, and stops at maxSteps', async () => {
    let count = 0;
    const graph = new GraphOrchestrator({
      id: 'g',
      start: 'inc',
      context: (input: number) => ({ total: input }),
      update: (context, step) => ({ total: (context['total'] as number) + (step.output as number) }),
      states: {
        inc: { node: new FunctionNode({ id: 'inc', run: (n: number) => n + 1 }), input: (view) => view.context['total'], choose: (view) => ((view.context['total'] as number) > 10 ? 'stop' : 'inc') },
        stop: { node: new FunctionNode({ id: 'stop', run: () => (count += 1, 'stopped') }) },
      },
    });
    expect(graph.nodeType).toBe('graph_orchestrator');
    const result = await wf(graph).run(1);
    expect(result.output).toMatchObject({ output: 'stopped', history: [{ state: 'inc', output: 2 }, { state: 'inc', output: 4 }, { state: 'inc', output: 8 }, { state: 'stop', output: 'stopped' }] });
    expect(count).toBe(1);

    const forever = new GraphOrchestrator({ id: 'g', start: 'a', maxSteps: 3, states: { a: { node: echo('a'), next: ['a'] } } });
    const limited = await wf(forever).run('x');
    expect(StepLimitError.isInstance(cause(limited.error))).toBe(true);

    const wrong = new GraphOrchestrator({ id: 'g', start: 'a', states: { a: { node: echo('a'), next: ['a', END], choose: () => 'b' } } });
    expect(cause((await wf(wrong).run('x')).error).message).toMatch(/returned "b", which is not an allowed next state/);
    const free = new GraphOrchestrator({ id: 'g', start: 'a', states: { a: { node: echo('a'), choose: () => END } } });
    expect((await wf(free).run('x')).output).toMatchObject({ output: 'a(x)' });
  });

  it('lets the router LLM pick by name and fails on an ambiguous answer', async () => {
    const states = { a: { node: echo('a'), next: ['b', 'c'] }, b: { node: echo('b') }, c: { node: echo('c') } };
    const router = new ScriptedLLM(['I think "c" is best.']);
    const picked = await wf(new GraphOrchestrator({ id: 'g', start: 'a', router, states })).run('x');
    expect(picked.output).toMatchObject({ output: 'c(a(x))', context: { a: 'a(x)', c: 'c(a(x))' } });
    expect(router.requests[0]!.messages[0]!.content).toBe('You route a workflow between states. Reply with exactly one of: b, c.');
    const unsure = await wf(new GraphOrchestrator({ id: 'g', start: 'a', router: new ScriptedLLM(['b or c']), states })).run('x');
    expect(cause(unsure.error).message).toMatch(/must name exactly one of b, c/);
  });

  it('addresses human input in a state as graph/state', async () => {
    const ask = new HumanInput({ id: 'ask', prompt: 'Number?', schema: z.number() });
    const graph = new GraphOrchestrator({ id: 'g', start: 'ask', states: { ask: { node: ask, next: ['double'] }, double: { node: new FunctionNode({ id: 'd', run: (n: number) => n * 2 }) } } });
    expect(graph.inputSchemaFor('/ask')).toBe(ask.schema);
    expect(graph.inputSchemaFor('/missing')).toBeUndefined();
    const workflow = wf(graph, true);
    const paused = await workflow.run(null);
    expect(paused.pendingInputs.map((p) => p.nodePath)).toEqual(['g/ask']);
    const done = await workflow.resume({ runId: paused.runId, input: { 'g/ask': 21 } });
    expect(done.output).toMatchObject({ output: 42 });
  });
});
