import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import * as zod3 from 'zod3';
import {
  Flow,
  FunctionNode,
  InvalidArgumentError,
  InvalidNodeInputError,
  InvalidOutputError,
  InvalidRunInputError,
  MemoryAdapter,
  NodeFailedError,
  Workflow,
} from '../../src/index.js';

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

const stored = () => ({ enabled: true, backend: new MemoryAdapter() });

describe('schemas at the edges', () => {
  describe('a workflow inputSchema', () => {
    const topic = z.object({ topic: z.string().min(1), depth: z.number().int().default(2) });
    const seen: unknown[] = [];
    const echo = new FunctionNode({ id: 'echo', run: (input: { topic: string; depth: number }) => (seen.push(input), `${input.topic}@${input.depth}`) });

    it('refuses a bad run input before anything starts or is stored, listing every issue by path', async () => {
      const checkpoint = stored();
      const workflow = new Workflow({ flow: new Flow({ id: 'in', nodes: [echo] }), inputSchema: topic, checkpoint });
      const started: string[] = [];
      workflow.on('run_started', (event) => started.push(event.runId));
      const refused = workflow.run(JSON.parse('{ "topic": "", "depth": 1.5 }'), { runId: 'bad-input' });
      await expect(refused).rejects.toThrow(InvalidRunInputError);
      const error = (await refused.catch((e: unknown) => e)) as InvalidRunInputError;
      expect(error).toMatchObject({ code: 'INVALID_RUN_INPUT' });
      expect(error.message).toMatch(/^Workflow "in" refused the run input; nothing was started\./);
      expect(error.issues.map((issue) => issue.path).sort()).toEqual(['depth', 'topic']);
      expect(started).toEqual([]);
      expect(await checkpoint.backend.getHead('bad-input')).toBeNull();
      // Nothing was stored, so the same runId starts cleanly with a good input.
      expect((await workflow.run({ topic: 'AI', depth: 1 }, { runId: 'bad-input' })).status).toBe('success');
    });

    it("starts the run with zod's output: defaults and transforms applied, and stored as the run's input", async () => {
      seen.length = 0;
      const checkpoint = stored();
      const workflow = new Workflow({ flow: new Flow({ id: 'in', nodes: [echo] }), inputSchema: topic, checkpoint });
      const result = await workflow.run(JSON.parse('{ "topic": "AI" }'));
      expect(result.output).toBe('AI@2');
      expect(seen).toEqual([{ topic: 'AI', depth: 2 }]);
      expect((await workflow.getLatestCheckpoint({ runId: result.runId }))?.originalInput).toEqual({ topic: 'AI', depth: 2 });
    });

    it('refuses a zod 3 schema where it is passed', () => {
      expect(() => new Workflow({ flow: new Flow({ id: 'in', nodes: [echo] }), inputSchema: zod3.object({}) as never })).toThrow(
        /Workflow "in" inputSchema is a zod 3 schema/,
      );
      expect(() => new FunctionNode({ id: 'n', outputSchema: zod3.string() as never, run: () => 'x' })).toThrow(InvalidArgumentError);
    });
  });

  describe('a workflow outputSchema', () => {
    const score = new FunctionNode({ id: 'score', run: (n: number) => ({ score: n }) });
    const outputSchema = z.object({ score: z.number().max(10) }).transform((o) => ({ ...o, grade: o.score > 5 ? 'high' : 'low' }));

    it("gives the run zod's output when the output passes", async () => {
      const workflow = new Workflow({ flow: new Flow({ id: 'out', nodes: [score] }), outputSchema, checkpoint: stored() });
      expect((await workflow.run(7)).output).toEqual({ score: 7, grade: 'high' });
    });

    it('fails the run (recorded failed) when the output does not pass, and a resume fails the same way', async () => {
      const workflow = new Workflow({ flow: new Flow({ id: 'out', nodes: [score] }), outputSchema, checkpoint: stored() });
      const result = await workflow.run(11);
      expect(result.status).toBe('failure');
      expect(result.output).toBeUndefined();
      expect(InvalidOutputError.isInstance(result.error)).toBe(true);
      expect(result.error).toMatchObject({ code: 'INVALID_OUTPUT', nodePath: undefined, issues: [{ path: 'score' }] });
      expect((await workflow.getLatestCheckpoint({ runId: result.runId }))?.status).toBe('failed');
      const again = await workflow.resume({ runId: result.runId });
      expect(again).toMatchObject({ status: 'failure', error: { code: 'INVALID_OUTPUT' } });
    });

    it("gives a resumed completed run the same output, through the schema, and announces it so", async () => {
      const workflow = new Workflow({ flow: new Flow({ id: 'out', nodes: [score] }), outputSchema, checkpoint: stored() });
      const first = await workflow.run(3);
      const announced: unknown[] = [];
      workflow.on('run_completed', (event) => announced.push(event.data.output));
      const again = await workflow.resume({ runId: first.runId });
      expect(again).toMatchObject({ status: 'success', output: { score: 3, grade: 'low' } });
      expect(announced).toEqual([{ score: 3, grade: 'low' }]);
    });

    it('fails the resume of a completed run whose output the schema (changed since) refuses', async () => {
      const checkpoint = stored();
      const first = await new Workflow({ flow: new Flow({ id: 'out', nodes: [score] }), checkpoint }).run(30);
      const stricter = new Workflow({ flow: new Flow({ id: 'out', nodes: [score] }), outputSchema, checkpoint });
      const failed: unknown[] = [];
      stricter.on('run_failed', (event) => failed.push(event.data.error?.code));
      expect(await stricter.resume({ runId: first.runId })).toMatchObject({ status: 'failure', error: { code: 'INVALID_OUTPUT' } });
      expect(failed).toEqual(['INVALID_OUTPUT']);
    });

    it('applies without checkpointing too', async () => {
      const workflow = new Workflow({ flow: new Flow({ id: 'out', nodes: [score] }), outputSchema });
      expect((await workflow.run(12)).error).toMatchObject({ code: 'INVALID_OUTPUT' });
    });
  });

  describe('node schemas', () => {
    it('fails a node whose input does not pass its inputSchema without running it or retrying it', async () => {
      let ran = 0;
      const words = new FunctionNode({ id: 'words', run: (text: string) => text.split(' ').length });
      const half = new FunctionNode({
        id: 'half',
        dependsOn: [words],
        inputSchema: z.number().multipleOf(2),
        retry: { maxAttempts: 3, initialDelayMs: 0 },
        run: (n) => (ran++, n / 2),
      });
      const workflow = new Workflow({ flow: new Flow({ id: 'wired', nodes: [words, half] }), checkpoint: stored() });
      const result = await workflow.run('three words here');
      expect(result.status).toBe('failure');
      expect(NodeFailedError.isInstance(result.error)).toBe(true);
      const cause = (result.error as NodeFailedError).cause;
      expect(InvalidNodeInputError.isInstance(cause)).toBe(true);
      expect(cause).toMatchObject({ code: 'INVALID_NODE_INPUT', nodePath: 'half', issues: [{ path: '' }] });
      expect(ran).toBe(0);
      const head = await workflow.getLatestCheckpoint({ runId: result.runId });
      expect(head?.nodeStates['half']).toMatchObject({ status: 'failure', error: { code: 'INVALID_NODE_INPUT' } });
      expect(head?.nodeStates['half']?.attempt).toBeLessThanOrEqual(1);
    });

    it("passes zod's output on as the input when it passes", async () => {
      const trim = new FunctionNode({ id: 'trim', inputSchema: z.string().trim(), run: (text: string) => text.length });
      expect((await new Workflow({ flow: new Flow({ id: 'trimmed', nodes: [trim] }) }).run('  ab  ')).output).toBe(2);
    });

    it('fails an attempt whose output does not pass its outputSchema, and retries it like any failure', async () => {
      const replies = ['not json', '{"answer": 42}'];
      const model = new FunctionNode({
        id: 'model',
        outputSchema: z.string().refine(isJson, 'the reply is not JSON'),
        retry: { maxAttempts: 2, initialDelayMs: 0 },
        run: (_: null, ctx) => replies[ctx.attempt - 1]!,
      });
      const retried: string[] = [];
      const workflow = new Workflow({ flow: new Flow({ id: 'llm', nodes: [model] }), checkpoint: stored() });
      workflow.on('node_retrying', (event) => retried.push(event.data.error.message));
      const result = await workflow.run(null);
      expect(result).toMatchObject({ status: 'success', output: '{"answer": 42}' });
      expect(retried).toEqual([expect.stringMatching(/^Node "model" returned an output its outputSchema refuses: .*the reply is not JSON/)]);
    });

    it('fails the node with InvalidOutputError once its attempts are used up', async () => {
      const negative = new FunctionNode({ id: 'neg', outputSchema: z.number().positive(), run: () => -1 });
      const result = await new Workflow({ flow: new Flow({ id: 'neg', nodes: [negative] }) }).run(null);
      expect((result.error as NodeFailedError).cause).toMatchObject({ code: 'INVALID_OUTPUT', nodePath: 'neg', issues: [{ path: '' }] });
    });
  });
});
