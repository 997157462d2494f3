// Resume behaviour of the node catalogue (Agent, MapNode, orchestrators, nested human input), runnable
// against any StorageAdapter: core runs it with MemoryAdapter; backend packages can run the same cases.
import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import {
  Agent,
  END,
  Flow,
  FunctionNode,
  GraphOrchestrator,
  HumanInput,
  InputAlreadyAnsweredError,
  InvalidResumeInputError,
  IterationFailedError,
  LeaseLostError,
  LinearOrchestrator,
  MapNode,
  ScriptedLLM,
  tool,
  Workflow,
  type AgentState,
  type ChatRequest,
  type CheckpointConfigInput,
  type HumanInputChannel,
  type MapState,
  type StorageAdapter,
  type ToolMessage,
  type WorkflowEvent,
} from '../../src/index.js';
import { deferred, freezableRenewals, instrument, resumeAfterLeaseExpiry, useBackend, type SuiteBackend } from '../support/suite-harness.js';

export type NodeResumeBackend = SuiteBackend;



/** The 1-based turn a request asks for: assistant messages so far + 1. */
const turnOf = (request: ChatRequest) => request.messages.filter((m) => m.role === 'assistant').length + 1;
const lastToolResult = (request: ChatRequest) => (request.messages.filter((m) => m.role === 'tool').pop() as ToolMessage | undefined)?.content;

/**
 * A model that calls `step({ n })` on turns 1..loops-1 and answers on turn `loops`; `failAtCall` throws
 * on that call number (a crash), `hangAtCall` waits on the given promise (a process that stops answering).
 */
function chainLLM(loops: number, options: { failAtCall?: number; hangAtCall?: { call: number; until: Promise<Error> } } = {}) {
  return new ScriptedLLM((request, call) => {
    if (call === options.failAtCall) return new Error('LLM endpoint down');
    if (call === options.hangAtCall?.call) return options.hangAtCall.until;
    const turn = turnOf(request);
    return turn < loops ? { content: `thinking ${turn}`, toolCalls: [{ name: 'step', arguments: { n: turn } }] } : `done after ${lastToolResult(request)}`;
  });
}

function stepTool(calls: number[], payload = (n: number) => `step ${n} ok`) {
  return tool({
    name: 'step',
    description: 'Does step n',
    schema: z.object({ n: z.number() }),
    run: ({ n }) => {
      calls.push(n);
      return payload(n);
    },
  });
}

function agentStateOf(internalState: unknown): AgentState {
  return internalState as AgentState;
}


export function describeNodeResume(name: string, backend: NodeResumeBackend): void {
  describe(`node catalogue resume (${name})`, () => {
    const { ref, config } = useBackend(backend);

    const agentWorkflow = (llm: ScriptedLLM, calls: number[], extra: Partial<CheckpointConfigInput> = {}, adapter?: StorageAdapter) =>
      new Workflow<string, string>({
        flow: new Flow({ id: 'agent-chain', nodes: [new Agent({ id: 'agent', llm, tools: [stepTool(calls)], maxLoops: 15, system: 'Work step by step.' })] }),
        checkpoint: config(extra, adapter),
      });

    describe('Agent', () => {
      it('killed at loop 5 of 15 resumes with exactly 10 more LLM calls and the same history as an uninterrupted run', async () => {
        const calls: number[] = [];
        const llm = chainLLM(15, { failAtCall: 6 });
        const workflow = agentWorkflow(llm, calls);
        const failed = await workflow.run('count to 15');
        expect(failed.status).toBe('failure');
        expect(llm.calls).toBe(6);
        expect(calls).toEqual([1, 2, 3, 4, 5]);
        const head = await workflow.getLatestCheckpoint({ runId: failed.runId });
        expect(agentStateOf(head!.nodeStates['agent']!.internalState)).toMatchObject({ loop: 5, pending: null });

        const resumed = await workflow.resume({ runId: failed.runId });
        expect(resumed).toMatchObject({ status: 'success', output: 'done after step 14 ok' });
        expect(llm.calls - 6).toBe(10);
        // every tool ran exactly once in total
        expect(calls).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);

        const straightCalls: number[] = [];
        const straight = agentWorkflow(chainLLM(15), straightCalls);
        const uninterrupted = await straight.run('count to 15');
        const historyOf = async (wf: Workflow, runId: string) =>
          agentStateOf((await wf.getLatestCheckpoint({ runId }))!.nodeStates['agent']!.internalState).messages;
        expect(await historyOf(workflow, failed.runId)).toEqual(await historyOf(straight, uninterrupted.runId));
        expect((await historyOf(workflow, failed.runId)).length).toBe(2 + 15 + 14);
      });

      it('replays a tool that finished before the crash and calls the one in flight once more', async () => {
        const ran: string[] = [];
        let lookupFails = true;
        const search = tool({ name: 'search', description: 'Searches', schema: z.object({ q: z.string() }), run: ({ q }) => (ran.push(`search:${q}`), `results for ${q}`) });
        const lookup = tool({
          name: 'lookup',
          description: 'Looks up',
          schema: z.object({ id: z.number() }),
          run: ({ id }, ctx) => {
            ran.push(`lookup:${id}:${ctx.idempotencyKey}`);
            if (lookupFails) {
              lookupFails = false;
              throw new Error('connection reset');
            }
            return { id, title: 'found' };
          },
        });
        const llm = new ScriptedLLM((request) =>
          turnOf(request) === 1
            ? { toolCalls: [{ name: 'search', arguments: { q: 'savepoint' } }, { name: 'lookup', arguments: { id: 7 } }] }
            : `answer using ${lastToolResult(request)}`,
        );
        const workflow = new Workflow({ flow: new Flow({ id: 'tools', nodes: [new Agent({ id: 'agent', llm, tools: [search, lookup] })] }), checkpoint: config() });
        const failed = await workflow.run('find it');
        expect(failed.status).toBe('failure');
        const head = await workflow.getLatestCheckpoint({ runId: failed.runId });
        const saved = agentStateOf(head!.nodeStates['agent']!.internalState);
        expect(saved.pending).toMatchObject({ name: 'lookup', id: 'call_1_1' });
        expect(saved.toolCalls).toEqual([{ key: 'search:{"q":"savepoint"}', at: 2 }]);

        const resumed = await workflow.resume({ runId: failed.runId });
        expect(resumed).toMatchObject({ status: 'success', output: 'answer using {"id":7,"title":"found"}' });
        const key = `${failed.runId}:agent:loop1:call_1_1`;
        expect(ran).toEqual(['search:savepoint', `lookup:7:${key}`, `lookup:7:${key}`]);
        expect(llm.calls).toBe(2);
      });

      it('a fresh worker takes over a run whose process stopped mid-loop and makes only the remaining calls', async () => {
        const workerAStorage = freezableRenewals(ref.storage);
        const stuck = deferred<Error>();
        const callsA: number[] = [];
        const llmA = chainLLM(15, { hangAtCall: { call: 6, until: stuck.promise } });
        const workerA = agentWorkflow(llmA, callsA, { leaseTtlMs: 300 }, workerAStorage.adapter);
        const runId = 'agent-takeover-1';
        const first = workerA.run('count to 15', { runId });
        while (llmA.calls < 6) await new Promise((r) => setTimeout(r, 5));
        await workerAStorage.freeze();

        // Another process, same storage: it knows nothing but the checkpoints.
        const callsB: number[] = [];
        const llmB = chainLLM(15);
        const workerB = agentWorkflow(llmB, callsB);
        const done = await resumeAfterLeaseExpiry(() => workerB.resume({ runId }));
        expect(done).toMatchObject({ status: 'success', output: 'done after step 14 ok' });
        expect(llmB.calls).toBe(10);
        expect(callsB).toEqual([6, 7, 8, 9, 10, 11, 12, 13, 14]);

        stuck.resolve(new Error('worker A finally gave up'));
        const late = await first;
        expect(LeaseLostError.isInstance(late.error)).toBe(true);
        expect((await workerB.getLatestCheckpoint({ runId }))!.status).toBe('completed');
      });

      it('migrates saved agent state through migrateState when stateVersion changed', async () => {
        const calls: number[] = [];
        const failed = await agentWorkflow(chainLLM(4, { failAtCall: 3 }), calls).run('go');
        expect(failed.status).toBe('failure');

        const migrations: number[] = [];
        class AgentV2 extends Agent {
          override readonly stateVersion = 2;
          override migrateState(state: unknown, fromVersion: number): unknown {
            migrations.push(fromVersion);
            return state;
          }
        }
        const llm = chainLLM(4);
        const next = new Workflow({
          flow: new Flow({ id: 'agent-chain', nodes: [new AgentV2({ id: 'agent', llm, tools: [stepTool(calls)], maxLoops: 15, system: 'Work step by step.' })] }),
          checkpoint: config(),
        });
        const resumed = await next.resume({ runId: failed.runId });
        expect(resumed).toMatchObject({ status: 'success', output: 'done after step 3 ok' });
        expect(migrations).toEqual([1]);
        expect(llm.calls).toBe(2);
        expect((await next.getLatestCheckpoint({ runId: failed.runId }))!.nodeStates['agent']!.stateVersion).toBe(2);
      });

      it('writes a small, bounded amount for a 15-loop agent chain (bytes only, deterministic)', async () => {
        const measure = async () => {
          const raw = await backend.create();
          ref.created.push(raw);
          const counted = instrument(raw);
          const calls: number[] = [];
          const payload = (n: number) => `result ${n}: `.padEnd(2048, 'lorem ipsum ');
          const workflow = new Workflow({
            flow: new Flow({ id: 'agent-chain', nodes: [new Agent({ id: 'agent', llm: chainLLM(15), tools: [stepTool(calls, payload)], maxLoops: 15 })] }),
            checkpoint: config({}, counted.adapter),
          });
          const result = await workflow.run('count to 15', { runId: 'bytes-run-1' });
          expect(result.status).toBe('success');
          return counted.written;
        };
        const first = await measure();
        const again = await measure();
        console.log(`15-loop agent chain (2 KB per tool result): ${first.bytes} bytes in ${first.perHeader.length} checkpoints`);
        expect(again.bytes).toBe(first.bytes);
        const history = 14 * 2048;
        // Write cost follows the change: no save rewrites the history (a naive store writes ~450 KB here).
        expect(Math.max(...first.perHeader)).toBeLessThan(3 * 2048);
        expect(first.bytes).toBeLessThan(4 * history);
      });
    });

    describe('nested human input', () => {
      const approveTool = () =>
        new HumanInput({
          id: 'approve',
          description: 'Asks a human to approve a draft',
          argsSchema: z.object({ draft: z.string() }),
          prompt: (args: { draft: string }) => `Publish "${args.draft}"?`,
          schema: z.object({ ok: z.boolean() }),
        });

      const writerLLM = () =>
        new ScriptedLLM((request) =>
          turnOf(request) === 1 ? { toolCalls: [{ name: 'approve', arguments: { draft: 'hello world' } }] } : `decision ${lastToolResult(request)}`,
        );

      it('Agent → tool → HumanInput pauses at writer/tool:approve, validates the answer, and never asks the LLM again', async () => {
        const llm = writerLLM();
        const workflow = new Workflow({ flow: new Flow({ id: 'writer', nodes: [new Agent({ id: 'writer', llm, tools: [approveTool()] })] }), checkpoint: config() });
        const requested: WorkflowEvent[] = [];
        workflow.on('approval_requested', (e) => requested.push(e));

        const paused = await workflow.run('write a post');
        expect(paused.status).toBe('pending_input');
        expect(paused.pendingInputs).toEqual([
          expect.objectContaining({ nodePath: 'writer/tool:approve', prompt: 'Publish "hello world"?', schema: expect.objectContaining({ type: 'object' }) }),
        ]);
        const before = await workflow.listCheckpoints({ runId: paused.runId });
        // @ts-expect-error a wrong answer the compiler refuses; the run must refuse it too
        await expect(workflow.resume({ runId: paused.runId, input: { 'writer/tool:approve': { ok: 'yes' } } })).rejects.toThrow(InvalidResumeInputError);
        expect(await workflow.listCheckpoints({ runId: paused.runId })).toEqual(before);

        const stillWaiting = await workflow.resume({ runId: paused.runId });
        expect(stillWaiting.pendingInputs.map((p) => p.nodePath)).toEqual(['writer/tool:approve']);
        expect(requested.map((e) => (e.data as { isResumed: boolean }).isResumed)).toEqual([false, true]);

        const done = await workflow.resume({ runId: paused.runId, input: { 'writer/tool:approve': { ok: true } } });
        expect(done).toMatchObject({ status: 'success', output: 'decision {"ok":true}' });
        expect(llm.calls).toBe(2);
        await expect(workflow.resume({ runId: paused.runId, input: { 'writer/tool:approve': { ok: false } } })).rejects.toThrow(InputAlreadyAnsweredError);
      });

      it('Map → Agent → HumanInput: three wait at once; answering two pauses again with one; the last completes', async () => {
        const needsApproval = new Set([2, 5, 8]);
        const llm = new ScriptedLLM((request) => {
          const item = Number(request.messages[0]!.content);
          if (turnOf(request) === 1) {
            return needsApproval.has(item) ? { toolCalls: [{ name: 'approve', arguments: { item } }] } : `item ${item} done`;
          }
          return `item ${item}: ${lastToolResult(request)}`;
        });
        const approve = new HumanInput({
          id: 'approve',
          argsSchema: z.object({ item: z.number() }),
          prompt: (args: { item: number }) => `Approve item ${args.item}?`,
          schema: z.enum(['yes', 'no']),
        });
        const agent = new Agent({ id: 'agent', llm, tools: [approve], prompt: (n: number) => String(n) });
        const workflow = new Workflow({ flow: new Flow({ id: 'batch', nodes: [new MapNode({ id: 'map', inner: agent, concurrency: 3 })] }), checkpoint: config() });
        const items = Array.from({ length: 10 }, (_, i) => i);

        const paused = await workflow.run(items);
        expect(paused.status).toBe('pending_input');
        expect(paused.pendingInputs.map((p) => p.nodePath).sort()).toEqual([
          'map[2]/agent/tool:approve',
          'map[5]/agent/tool:approve',
          'map[8]/agent/tool:approve',
        ]);
        expect(llm.calls).toBe(10);
        const head = await workflow.getLatestCheckpoint({ runId: paused.runId });
        const iterations = (head!.nodeStates['map']!.internalState as MapState).iterations;
        expect(iterations.map((r) => r!.status)).toEqual(items.map((i) => (needsApproval.has(i) ? 'pending_input' : 'success')));
        // @ts-expect-error a wrong answer the compiler refuses; the run must refuse it too
        await expect(workflow.resume({ runId: paused.runId, input: { 'map[8]/agent/tool:approve': 'maybe' } })).rejects.toThrow(InvalidResumeInputError);

        const half = await workflow.resume({ runId: paused.runId, input: { 'map[2]/agent/tool:approve': 'yes', 'map[5]/agent/tool:approve': 'no' } });
        expect(half.status).toBe('pending_input');
        expect(half.pendingInputs.map((p) => p.nodePath)).toEqual(['map[8]/agent/tool:approve']);
        expect(llm.calls).toBe(12);

        const done = await workflow.resume({ runId: paused.runId, input: { 'map[8]/agent/tool:approve': 'yes' } });
        expect(done.status).toBe('success');
        expect(done.output).toEqual(items.map((i) => (needsApproval.has(i) ? `item ${i}: ${i === 5 ? 'no' : 'yes'}` : `item ${i} done`)));
        expect(llm.calls).toBe(13);
      });

      it('a crash while waiting on a live channel: another worker re-emits the prompt with isResumed and its request time', async () => {
        const workerAStorage = freezableRenewals(ref.storage);
        const asked = deferred<void>();
        const answer = deferred<{ answered: false }>();
        const channel: HumanInputChannel = {
          request: () => {
            asked.resolve();
            return answer.promise;
          },
        };
        const flow = () => new Flow({ id: 'writer', nodes: [new Agent({ id: 'writer', llm: writerLLM(), tools: [approveTool()] })] });
        const workerA = new Workflow({ flow: flow(), checkpoint: config({ leaseTtlMs: 300 }, workerAStorage.adapter) });
        const runId = 'hitl-crash-1';
        const announced: WorkflowEvent[] = [];
        workerA.on('approval_requested', (e) => announced.push(e));
        const first = workerA.run('write', { runId, inputChannel: channel });
        // A run that ends before it asks (e.g. its commit was refused) says why instead of hanging the test.
        const endedEarly = first.then((r) => Promise.reject(new Error(`run ended before asking: ${r.status} ${r.error?.message}`)));
        await Promise.race([asked.promise, endedEarly]);
        await workerAStorage.freeze();
        // The engine committed the request before waiting: the checkpoint the event names lists it...
        const { checkpointId, requestId } = announced[0]!.data as { checkpointId: string; requestId: string };
        expect((await workerA.store!.load(checkpointId)).pendingInputs.map((p) => p.requestId)).toEqual([requestId]);
        // ...and it is the run's head, which is what readers (and the next worker) see.
        const whileWaiting = await workerA.getLatestCheckpoint({ runId });
        expect(whileWaiting!.pendingInputs.map((p) => p.nodePath)).toEqual(['writer/tool:approve']);
        expect(whileWaiting!.id).toBe(checkpointId);

        const workerB = new Workflow({ flow: flow(), checkpoint: config() });
        const requested: WorkflowEvent[] = [];
        workerB.on('approval_requested', (e) => requested.push(e));
        const paused = await resumeAfterLeaseExpiry(() => workerB.resume({ runId }));
        expect(paused.status).toBe('pending_input');
        expect(requested).toEqual([
          expect.objectContaining({
            data: expect.objectContaining({
              nodePath: 'writer/tool:approve',
              isResumed: true,
              requestId: whileWaiting!.pendingInputs[0]!.requestId,
              requestedAt: whileWaiting!.pendingInputs[0]!.requestedAt,
            }),
          }),
        ]);
        answer.resolve({ answered: false });
        expect(LeaseLostError.isInstance((await first).error)).toBe(true);

        const done = await workerB.resume({ runId, input: { 'writer/tool:approve': { ok: true } } });
        expect(done).toMatchObject({ status: 'success', output: 'decision {"ok":true}' });
      });
    });

    describe('MapNode', () => {
      const squareWorkflow = (runs: number[], failing: Set<number>, onError: 'fail-fast' | 'collect', concurrency: number) => {
        const square = new FunctionNode({
          id: 'square',
          run: (n: number, ctx) => {
            runs.push(n);
            if (failing.has(n)) {
              failing.delete(n);
              throw new Error(`item ${n} broke (${ctx.nodePath})`);
            }
            return n * n;
          },
        });
        return new Workflow({ flow: new Flow({ id: 'squares', nodes: [new MapNode({ id: 'map', inner: square, concurrency, onError })] }), checkpoint: config() });
      };
      const items = Array.from({ length: 10 }, (_, i) => i);
      const squares = items.map((i) => i * i);

      it('with 3 of 10 iterations done, a resume runs the other 7', async () => {
        const runs: number[] = [];
        const workflow = squareWorkflow(runs, new Set([3]), 'fail-fast', 1);
        const failed = await workflow.run(items);
        expect(failed.status).toBe('failure');
        expect(IterationFailedError.isInstance((failed.error as Error).cause)).toBe(true);
        expect(((failed.error as Error).cause as InstanceType<typeof IterationFailedError>).failures).toEqual([
          { index: 3, nodePath: 'map[3]/square', error: expect.objectContaining({ message: 'item 3 broke (map[3]/square)' }) },
        ]);
        expect(runs).toEqual([0, 1, 2, 3]);
        runs.length = 0;
        const resumed = await workflow.resume({ runId: failed.runId });
        expect(resumed).toMatchObject({ status: 'success', output: squares });
        expect(runs).toEqual([3, 4, 5, 6, 7, 8, 9]);
      });

      it('collect runs every iteration; a resume re-runs only the failed one', async () => {
        const runs: number[] = [];
        const workflow = squareWorkflow(runs, new Set([4]), 'collect', 3);
        const failed = await workflow.run(items);
        expect(failed.status).toBe('failure');
        expect([...runs].sort((a, b) => a - b)).toEqual(items);
        const head = await workflow.getLatestCheckpoint({ runId: failed.runId });
        const iterations = (head!.nodeStates['map']!.internalState as MapState).iterations;
        expect(iterations[4]).toMatchObject({ status: 'failure', attempt: 1, error: { message: 'item 4 broke (map[4]/square)' } });
        expect(iterations.filter((r) => r?.status === 'success')).toHaveLength(9);
        runs.length = 0;
        const resumed = await workflow.resume({ runId: failed.runId });
        expect(resumed).toMatchObject({ status: 'success', output: squares });
        expect(runs).toEqual([4]);
      });

      it('maps a flow; an agent inside an iteration continues from its saved loop', async () => {
        const calls: number[] = [];
        let llmCalls = 0;
        let crashed = false;
        const llm = new ScriptedLLM((request) => {
          llmCalls += 1;
          const turn = turnOf(request);
          if (request.messages[0]!.content === 'topic 1' && turn === 3 && !crashed) {
            crashed = true;
            return new Error('rate limited');
          }
          return turn < 3 ? { toolCalls: [{ name: 'step', arguments: { n: turn } }] } : `summary of ${request.messages[0]!.content}`;
        });
        const prep = new FunctionNode({ id: 'prep', run: (topic: string) => `topic ${topic}` });
        const write = new Agent({ id: 'write', dependsOn: [prep], llm, tools: [stepTool(calls)] });
        const perTopic = new Flow({ id: 'per-topic', nodes: [prep, write] });
        const workflow = new Workflow({
          flow: new Flow({ id: 'topics', nodes: [new MapNode({ id: 'map', inner: perTopic, concurrency: 1, items: (input: { topics: string[] }) => input.topics })] }),
          checkpoint: config(),
        });
        const failed = await workflow.run({ topics: ['0', '1'] });
        expect(failed.status).toBe('failure');
        expect(llmCalls).toBe(6);
        const resumed = await workflow.resume({ runId: failed.runId });
        expect(resumed).toMatchObject({ status: 'success', output: ['summary of topic 0', 'summary of topic 1'] });
        expect(llmCalls).toBe(7);
        expect(calls).toEqual([1, 2, 1, 2]);
      });
    });

    describe('orchestrators', () => {
      it('LinearOrchestrator resumed after task 3 failed does not re-plan or re-run tasks 1–2', async () => {
        const manager = new ScriptedLLM([
          JSON.stringify({
            tasks: [
              { description: 'research', agent: 'researcher' },
              { description: 'outline', agent: 'writer' },
              { description: 'draft', agent: 'writer' },
              { description: 'polish', agent: 'writer' },
            ],
          }),
        ]);
        const researcherLLM = new ScriptedLLM(['facts']);
        const researcher = new Agent({ id: 'researcher', description: 'Finds facts', llm: researcherLLM });
        const done: string[] = [];
        let draftFails = true;
        const writer = new FunctionNode({
          id: 'writer',
          description: 'Writes',
          run: (input: string) => {
            const task = input.split('\n')[0]!;
            done.push(task);
            if (task === 'draft' && draftFails) {
              draftFails = false;
              throw new Error('writer crashed');
            }
            return `${task}(${input.split('\n').pop()})`;
          },
        });
        const workflow = new Workflow({
          flow: new Flow({ id: 'linear', nodes: [new LinearOrchestrator({ id: 'plan', manager, agents: [researcher, writer] })] }),
          checkpoint: config(),
        });
        const failed = await workflow.run('write about checkpoints');
        expect(failed.status).toBe('failure');
        expect(done).toEqual(['outline', 'draft']);
        const resumed = await workflow.resume({ runId: failed.runId });
        expect(resumed.status).toBe('success');
        expect(done).toEqual(['outline', 'draft', 'draft', 'polish']);
        expect(manager.calls).toBe(1);
        expect(researcherLLM.calls).toBe(1);
        expect(resumed.output).toMatchObject({
          results: ['facts', 'outline(facts)', 'draft(outline(facts))', 'polish(draft(outline(facts)))'],
          output: 'polish(draft(outline(facts)))',
        });
      });

      it('GraphOrchestrator resumed mid-way continues at the right state without re-routing', async () => {
        const visits: string[] = [];
        let reviewFails = true;
        const draft = new FunctionNode({ id: 'draft', run: (input: unknown, ctx) => (visits.push(`draft@${ctx.idempotencyKey.split(':').slice(-2).join(':')}`), `draft v${visits.length}`) });
        const review = new FunctionNode({
          id: 'review',
          run: (text: string) => {
            visits.push('review');
            if (visits.filter((v) => v === 'review').length === 2 && reviewFails) {
              reviewFails = false;
              throw new Error('reviewer away');
            }
            return `reviewed ${text}`;
          },
        });
        const router = new ScriptedLLM(['draft', END]);
        const workflow = new Workflow({
          flow: new Flow({
            id: 'graph',
            nodes: [
              new GraphOrchestrator({
                id: 'graph',
                start: 'draft',
                router,
                states: { draft: { node: draft, next: ['review'] }, review: { node: review, next: ['draft', END] } },
              }),
            ],
          }),
          checkpoint: config(),
        });
        const failed = await workflow.run('topic');
        expect(failed.status).toBe('failure');
        expect(visits).toEqual(['draft@step0:draft', 'review', 'draft@step2:draft', 'review']);
        expect(router.calls).toBe(1);
        const resumed = await workflow.resume({ runId: failed.runId });
        expect(resumed.status).toBe('success');
        expect(visits).toEqual(['draft@step0:draft', 'review', 'draft@step2:draft', 'review', 'review']);
        expect(router.calls).toBe(2);
        expect(resumed.output).toMatchObject({
          output: 'reviewed draft v3',
          history: [
            { state: 'draft', output: 'draft v1' },
            { state: 'review', output: 'reviewed draft v1' },
            { state: 'draft', output: 'draft v3' },
            { state: 'review', output: 'reviewed draft v3' },
          ],
          context: { draft: 'draft v3', review: 'reviewed draft v3' },
        });
      });
    });
  });
}
