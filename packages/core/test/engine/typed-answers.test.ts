import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import {
  Agent,
  Flow,
  FunctionNode,
  GraphOrchestrator,
  HumanInput,
  InputAlreadyAnsweredError,
  InvalidResumeInputError,
  LinearOrchestrator,
  MapNode,
  MemoryAdapter,
  ScriptedLLM,
  Subflow,
  Workflow,
} from '../../src/index.js';

const approve = new HumanInput({ id: 'approve', prompt: 'Publish?', schema: z.object({ ok: z.boolean() }) });
const publish = new FunctionNode({ id: 'publish', dependsOn: [approve], run: ({ ok }) => (ok ? 'published' : 'dropped') });
const hitl = () => new Workflow({ flow: new Flow({ id: 'hitl', nodes: [approve, publish] }), checkpoint: { enabled: true, backend: new MemoryAdapter() } });

describe('typed answers', () => {
  it('answers a question with humanInput.answer(value)', async () => {
    const workflow = hitl();
    const paused = await workflow.run(null);
    expect(approve.answer({ ok: true })).toEqual({ nodePath: 'approve', value: { ok: true } });
    const done = await workflow.resume({ runId: paused.runId, answers: [approve.answer({ ok: true })] });
    expect(done).toMatchObject({ status: 'success', output: 'published' });
  });

  it('binds an answer to its question with a requestId: a stale one is refused and changes nothing', async () => {
    const workflow = hitl();
    const paused = await workflow.run(null);
    const requestId = paused.pendingInputs[0]!.requestId!;
    const stale = workflow.resume({ runId: paused.runId, answers: [approve.answer({ ok: true }, { requestId: 'an-older-question' })] });
    await expect(stale).rejects.toThrow(InputAlreadyAnsweredError);
    expect((await workflow.getLatestCheckpoint({ runId: paused.runId }))?.id).toBe(paused.checkpointId);
    const done = await workflow.resume({ runId: paused.runId, answers: [approve.answer({ ok: false }, { requestId })] });
    expect(done.output).toBe('dropped');
  });

  it('refuses a path answered twice (in input and answers, or twice in answers) and changes nothing', async () => {
    const workflow = hitl();
    const paused = await workflow.run(null);
    const both = workflow.resume({ runId: paused.runId, input: { approve: { ok: true } }, answers: [approve.answer({ ok: false })] });
    await expect(both).rejects.toThrow(InvalidResumeInputError);
    await expect(both).rejects.toMatchObject({ issues: [{ nodePath: 'approve', message: expect.stringMatching(/answered twice/) }] });
    const twice = workflow.resume({ runId: paused.runId, answers: [approve.answer({ ok: true }), approve.answer({ ok: true })] });
    await expect(twice).rejects.toThrow(/approve: answered twice/);
    const rebound = workflow.resume({
      runId: paused.runId,
      requestIds: { approve: 'one' },
      answers: [approve.answer({ ok: true }, { requestId: 'another' })],
    });
    await expect(rebound).rejects.toThrow(InvalidResumeInputError);
    expect((await workflow.getLatestCheckpoint({ runId: paused.runId }))?.id).toBe(paused.checkpointId);
  });

  it('checks an answer against the schema at run time too (from JSON, or a cast)', async () => {
    const workflow = hitl();
    const paused = await workflow.run(null);
    const wrong = workflow.resume({ runId: paused.runId, answers: JSON.parse('[{ "nodePath": "approve", "value": { "ok": "yes" } }]') });
    await expect(wrong).rejects.toMatchObject({ code: 'INVALID_RESUME_INPUT', issues: [{ nodePath: 'approve' }] });
    const pathless = workflow.resume({ runId: paused.runId, answers: JSON.parse('[{ "value": true }]') });
    await expect(pathless).rejects.toThrow(/an answer needs a nodePath/);
  });

  it('answers a question inside a subflow by its full path', async () => {
    const check = new HumanInput({ id: 'check', prompt: 'OK?', schema: z.enum(['yes', 'no']) });
    const review = new Flow({ id: 'review', nodes: [check] });
    const workflow = new Workflow({ flow: new Flow({ id: 'outer', nodes: [new Subflow({ flow: review })] }), checkpoint: { enabled: true, backend: new MemoryAdapter() } });
    const paused = await workflow.run(null);
    expect(paused.pendingInputs.map((p) => p.nodePath)).toEqual(['review/check']);
    const done = await workflow.resume({ runId: paused.runId, answers: [check.answer('yes', { nodePath: 'review/check' })] });
    expect(done).toMatchObject({ status: 'success', output: 'yes' });
  });
});

describe('questions()', () => {
  it('lists every question a flow may ask, with its path ([*] = any index) and schema', () => {
    const yes = z.boolean();
    const check = new HumanInput({ id: 'check', prompt: 'OK?', schema: yes });
    const inner = new Flow({ id: 'inner', nodes: [check] });
    const confirm = new HumanInput({ id: 'confirm', prompt: 'Go?', schema: z.string() });
    const writer = new Agent({ id: 'writer', llm: new ScriptedLLM([]), tools: [confirm] });
    const flow = new Flow({
      id: 'all',
      nodes: [
        approve,
        new FunctionNode({ id: 'plain', run: () => 1 }),
        new Subflow({ id: 'sub', flow: inner }),
        new MapNode({ id: 'each', inner, items: () => [1, 2] }),
        new MapNode({ id: 'direct', inner: check, items: () => [1] }),
        writer,
        new LinearOrchestrator({ id: 'plan', manager: () => ['t'], agents: [writer] }),
        new GraphOrchestrator({ id: 'graph', start: 'review', states: { review: { node: check } } }),
      ],
    });
    expect(flow.questions().map((q) => q.nodePath)).toEqual([
      'approve',
      'sub/check',
      'each[*]/inner/check',
      'direct[*]/check',
      'writer/tool:confirm',
      'plan[*]/writer/tool:confirm',
      'graph/review',
    ]);
    expect(flow.questions()[1]!.schema).toBe(yes);
    // Each listed path (an index in place of [*]) is one the resume accepts: the same schema is found there.
    for (const q of flow.questions()) expect(flow.inputSchemaFor(q.nodePath.replace('[*]', '[0]'))).toBe(q.schema);
  });
});
