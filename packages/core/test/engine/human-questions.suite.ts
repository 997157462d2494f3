// Every human question has a requestId (DESIGN §7): stable while the question is open, new once it was
// answered, announced only after a checkpoint lists it, and answers can be bound to it. Runnable against
// any StorageAdapter: core runs it with MemoryAdapter, tests/invariants with the file and SQLite backends.
import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import {
  Agent,
  Flow,
  FunctionNode,
  HumanInput,
  InputAlreadyAnsweredError,
  ScriptedLLM,
  Workflow,
  type HumanInputChannel,
  type InputAnswer,
  type PendingInputContext,
  type WorkflowEvent,
} from '../../src/index.js';
import { deferred, useBackend, type SuiteBackend } from '../support/suite-harness.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const APPROVE = 'writer/tool:approve';

interface Requested extends PendingInputContext {
  isResumed: boolean;
  checkpointId?: string;
}

const dataOf = <T>(events: WorkflowEvent[]) => events.map((e) => e.data as T);

export function describeHumanQuestions(name: string, backend: SuiteBackend): void {
  describe(`human questions (${name})`, () => {
    const { ref, config } = useBackend(backend);

    /** An agent that asks for approval of draft 1, then of draft 2 at the same nodePath, then finishes. */
    const twiceAskingWriter = () => {
      const llm = new ScriptedLLM((request) => {
        const asked = request.messages.filter((m) => m.role === 'tool').length;
        return asked < 2 ? { toolCalls: [{ name: 'approve', arguments: { draft: `draft ${asked + 1}` } }] } : 'published';
      });
      const approve = new HumanInput({
        id: 'approve',
        argsSchema: z.object({ draft: z.string() }),
        prompt: (args: { draft: string }) => `Publish ${args.draft}?`,
        schema: z.object({ ok: z.boolean() }),
      });
      const workflow = new Workflow({ flow: new Flow({ id: 'writer', nodes: [new Agent({ id: 'writer', llm, tools: [approve] })] }), checkpoint: config() });
      const requested: WorkflowEvent[] = [];
      const received: WorkflowEvent[] = [];
      workflow.on('approval_requested', (e) => requested.push(e));
      workflow.on('approval_received', (e) => received.push(e));
      return { workflow, llm, requested, received };
    };

    /** One yes/no question, `approve`, then done. */
    const shipWorkflow = () =>
      new Workflow({ flow: new Flow({ id: 'ship', nodes: [new HumanInput({ id: 'approve', prompt: 'Ship it?', schema: z.boolean() })] }), checkpoint: config() });

    it('a re-asked prompt keeps its requestId and request time; answering it closes it', async () => {
      const approve = new HumanInput({ id: 'approve', prompt: 'Ship it?', schema: z.boolean() });
      const workflow = new Workflow({ flow: new Flow({ id: 'ship', nodes: [approve] }), checkpoint: config() });
      const requested: WorkflowEvent[] = [];
      const received: WorkflowEvent[] = [];
      workflow.on('approval_requested', (e) => requested.push(e));
      workflow.on('approval_received', (e) => received.push(e));

      const paused = await workflow.run(null);
      const question = paused.pendingInputs[0]!;
      expect(question.requestId).toMatch(UUID_V7);
      const again = await workflow.resume({ runId: paused.runId });
      expect(again.pendingInputs).toEqual([question]);
      expect(dataOf<Requested>(requested).map((d) => [d.requestId, d.requestedAt, d.isResumed])).toEqual([
        [question.requestId, question.requestedAt, false],
        [question.requestId, question.requestedAt, true],
      ]);
      // Each announcement names a committed checkpoint that lists the question.
      for (const { checkpointId } of dataOf<Requested>(requested)) {
        const listed = await workflow.store!.load(checkpointId!);
        expect(listed.pendingInputs.map((p) => p.requestId)).toEqual([question.requestId]);
      }

      const done = await workflow.resume({ runId: paused.runId, input: { approve: true }, requestIds: { approve: question.requestId! } });
      expect(done).toMatchObject({ status: 'success', output: true });
      expect(dataOf(received)).toEqual([{ nodePath: 'approve', requestId: question.requestId, value: true }]);
    });

    it('asking again at the same nodePath after an answer is a new question; an answer bound to the old one is refused', async () => {
      const { workflow, llm, requested, received } = twiceAskingWriter();
      const first = await workflow.run('write');
      const q1 = first.pendingInputs[0]!;
      expect(q1).toMatchObject({ nodePath: APPROVE, prompt: 'Publish draft 1?' });

      const second = await workflow.resume({ runId: first.runId, input: { [APPROVE]: { ok: true } }, requestIds: { [APPROVE]: q1.requestId! } });
      expect(second.status).toBe('pending_input');
      const q2 = second.pendingInputs[0]!;
      expect(q2).toMatchObject({ nodePath: APPROVE, prompt: 'Publish draft 2?' });
      expect(q2.requestId).toMatch(UUID_V7);
      expect(q2.requestId).not.toBe(q1.requestId);
      expect(q2.requestedAt.getTime()).toBeGreaterThanOrEqual(q1.requestedAt.getTime());
      expect(q2.requestedAt).not.toBe(q1.requestedAt);
      expect(dataOf<Requested>(requested).map((d) => [d.requestId, d.isResumed])).toEqual([
        [q1.requestId, false],
        [q2.requestId, false],
      ]);

      // A second device answers the first question again: refused, nothing changes, no lease is left behind.
      const before = await workflow.listCheckpoints({ runId: first.runId });
      const stale = workflow.resume({ runId: first.runId, input: { [APPROVE]: { ok: true } }, requestIds: { [APPROVE]: q1.requestId! } });
      await expect(stale).rejects.toThrow(InputAlreadyAnsweredError);
      await expect(stale).rejects.toThrow(new RegExp(`question ${q1.requestId} at "${APPROVE}" is no longer open`));
      await expect(workflow.resume({ runId: first.runId, input: {}, requestIds: { elsewhere: q2.requestId! } })).rejects.toThrow(InputAlreadyAnsweredError);
      expect(await workflow.listCheckpoints({ runId: first.runId })).toEqual(before);
      expect(llm.calls).toBe(2);

      const done = await workflow.resume({ runId: first.runId, input: { [APPROVE]: { ok: false } }, requestIds: { [APPROVE]: q2.requestId! } });
      expect(done).toMatchObject({ status: 'success', output: 'published' });
      expect(dataOf<{ requestId: string }>(received).map((d) => d.requestId)).toEqual([q1.requestId, q2.requestId]);
      await expect(workflow.resume({ runId: first.runId, input: { [APPROVE]: { ok: true } }, requestIds: { [APPROVE]: q2.requestId! } })).rejects.toThrow(
        InputAlreadyAnsweredError,
      );
    });

    it('a question re-asked live after a resume keeps its id; the next one answered live gets a new id', async () => {
      const { workflow } = twiceAskingWriter();
      const first = await workflow.run('write');
      const q1 = first.pendingInputs[0]!;
      const asked: PendingInputContext[] = [];
      const channel: HumanInputChannel = { request: async (pending) => (asked.push(pending), { answered: true, value: { ok: true } }) };

      const done = await workflow.resume({ runId: first.runId, inputChannel: channel });
      expect(done).toMatchObject({ status: 'success', output: 'published' });
      expect(asked.map((p) => p.requestId)).toEqual([q1.requestId, expect.stringMatching(UUID_V7)]);
      expect(asked[1]!.requestId).not.toBe(q1.requestId);
      expect(asked[0]!.requestedAt).toEqual(q1.requestedAt);
    });

    it('a question is stored and listed before it is announced, while other branches still run', async () => {
      const release = deferred<void>();
      const slow = new FunctionNode({ id: 'slow', run: async () => (await release.promise, 'slow done') });
      const approve = new HumanInput({ id: 'approve', prompt: 'Go?', schema: z.boolean() });
      const workflow = new Workflow({ flow: new Flow({ id: 'branches', nodes: [slow, approve] }), checkpoint: config() });
      const announced = deferred<Requested>();
      workflow.on('approval_requested', (e) => announced.resolve(e.data as Requested));

      const running = workflow.run(null);
      const event = await announced.promise;
      // `slow` has not finished: whoever saw the event finds the question stored and the run listed as waiting.
      const [waiting] = await workflow.getPendingInputs();
      expect(waiting).toMatchObject({ nodePath: 'approve', requestId: event.requestId, checkpointId: event.checkpointId });
      expect((await workflow.store!.listPendingInput({ flowId: 'branches' })).map((s) => s.id)).toEqual([event.checkpointId]);
      release.resolve();
      const paused = await running;
      expect(paused.status).toBe('pending_input');
      expect(paused.pendingInputs.map((p) => p.requestId)).toEqual([event.requestId]);
      const done = await workflow.resume({ runId: paused.runId, input: { approve: true }, requestIds: { approve: event.requestId! } });
      expect(done).toMatchObject({ status: 'success' });
    });

    it('a run waiting on a live channel is listed as waiting; a stale answer meanwhile is refused without touching it', async () => {
      const { workflow, requested } = twiceAskingWriter();
      const first = await workflow.run('write');
      const q1 = first.pendingInputs[0]!;
      await workflow.resume({ runId: first.runId, input: { [APPROVE]: { ok: true } }, requestIds: { [APPROVE]: q1.requestId! } });
      const asked = deferred<PendingInputContext>();
      const answer = deferred<InputAnswer>();
      const channel: HumanInputChannel = { request: (pending) => (asked.resolve(pending), answer.promise) };

      const live = workflow.resume({ runId: first.runId, inputChannel: channel });
      const q2 = await asked.promise;
      const head = await workflow.getLatestCheckpoint({ runId: first.runId });
      expect(head).toMatchObject({ status: 'pending_input', id: dataOf<Requested>(requested).at(-1)!.checkpointId });
      expect(head!.pendingInputs.map((p) => p.requestId)).toEqual([q2.requestId]);
      expect((await workflow.store!.listPendingInput({ flowId: 'writer' })).map((s) => s.runId)).toEqual([first.runId]);
      expect((await workflow.getPendingInputs()).map((p) => p.requestId)).toEqual([q2.requestId]);
      // The live worker holds the lease, yet an answer to the closed question is refused as such.
      await expect(
        workflow.resume({ runId: first.runId, input: { [APPROVE]: { ok: true } }, requestIds: { [APPROVE]: q1.requestId! } }),
      ).rejects.toThrow(InputAlreadyAnsweredError);

      answer.resolve({ answered: true, value: { ok: true } });
      expect(await live).toMatchObject({ status: 'success', output: 'published' });
      expect(await workflow.getPendingInputs()).toEqual([]);
    });

    it('an answer without requestId to a question answered already is InputAlreadyAnsweredError, not "no input is pending"', async () => {
      const { workflow } = twiceAskingWriter();
      const first = await workflow.run('write');
      await workflow.resume({ runId: first.runId, input: { [APPROVE]: { ok: true } } });
      const done = await workflow.resume({ runId: first.runId, input: { [APPROVE]: { ok: false } } });
      expect(done).toMatchObject({ status: 'success', output: 'published' });
      const before = await workflow.listCheckpoints({ runId: first.runId });

      const late = workflow.resume({ runId: first.runId, input: { [APPROVE]: { ok: true } } });
      await expect(late).rejects.toThrow(InputAlreadyAnsweredError);
      await expect(late).rejects.toThrow(`the question at "${APPROVE}" was answered already`);
      expect(await workflow.listCheckpoints({ runId: first.runId })).toEqual(before);
      // A path where no question can ever be asked is still a validation error.
      // @ts-expect-error a static unknown path: the compiler refuses it, the run must too
      await expect(workflow.resume({ runId: first.runId, input: { elsewhere: true } })).rejects.toThrow(/no input is pending at "elsewhere"/);
    });

    it('a top-level question answered while another waits: answering it again is InputAlreadyAnsweredError', async () => {
      const legal = new HumanInput({ id: 'legal', prompt: 'Legal ok?', schema: z.boolean() });
      const editor = new HumanInput({ id: 'editor', prompt: 'Editor ok?', schema: z.boolean(), dependsOn: ['legal'] });
      const workflow = new Workflow({ flow: new Flow({ id: 'review', nodes: [legal, editor] }), checkpoint: config() });
      const paused = await workflow.run(null);
      const second = await workflow.resume({ runId: paused.runId, input: { legal: true } });
      expect(second.pendingInputs.map((p) => p.nodePath)).toEqual(['editor']);
      await expect(workflow.resume({ runId: paused.runId, input: { legal: false } })).rejects.toThrow(InputAlreadyAnsweredError);
      expect(await workflow.resume({ runId: paused.runId, input: { editor: true } })).toMatchObject({ status: 'success' });
    });

    it('run_paused names the checkpoint that lists its questions', async () => {
      const workflow = shipWorkflow();
      const paused: WorkflowEvent[] = [];
      workflow.on('run_paused', (e) => paused.push(e));
      const result = await workflow.run(null);
      expect(dataOf(paused)).toEqual([{ pendingInputs: result.pendingInputs, checkpointId: result.checkpointId }]);
      expect((await workflow.store!.load(result.checkpointId!)).pendingInputs).toEqual(result.pendingInputs);
    });

    it('a resumed run whose channel already holds the answer goes on without asking the question again', async () => {
      const workflow = shipWorkflow();
      const events: WorkflowEvent[] = [];
      workflow.on('*', (e) => events.push(e));
      const paused = await workflow.run(null);
      const question = paused.pendingInputs[0]!;
      const looked: PendingInputContext[] = [];
      const channel: HumanInputChannel = {
        answered: async (pending) => (looked.push(pending), { answered: true, value: true }),
        request: async () => {
          throw new Error('the question must not be asked again');
        },
      };
      events.length = 0;
      const done = await workflow.resume({ runId: paused.runId, inputChannel: channel });
      expect(done).toMatchObject({ status: 'success', output: true });
      expect(looked.map((p) => p.requestId)).toEqual([question.requestId]);
      const types = events.map((e) => e.type);
      expect(types).not.toContain('approval_requested');
      expect(events.find((e) => e.type === 'approval_received')!.data).toEqual({ nodePath: 'approve', requestId: question.requestId, value: true });
      // The question left the head (committed) before the node finished with the answer.
      const created = events.filter((e) => e.type === 'checkpoint_created').map((e) => e.data as { checkpointId: string });
      expect(types.indexOf('checkpoint_created')).toBeLessThan(types.indexOf('approval_received'));
      expect((await workflow.store!.load(created[0]!.checkpointId)).pendingInputs).toEqual([]);
    });

    it('a resumed run whose channel holds no answer (or an invalid one) asks again, then waits on the channel', async () => {
      const workflow = shipWorkflow();
      const requested: WorkflowEvent[] = [];
      workflow.on('approval_requested', (e) => requested.push(e));
      const paused = await workflow.run(null);
      for (const given of [{ answered: false }, { answered: true, value: 'not a boolean' }] as InputAnswer[]) {
        const channel: HumanInputChannel = { answered: async () => given, request: async () => ({ answered: false }) };
        expect(await workflow.resume({ runId: paused.runId, inputChannel: channel })).toMatchObject({ status: 'pending_input' });
      }
      expect(dataOf<Requested>(requested).map((d) => d.isResumed)).toEqual([false, true, true]);
    });

    it('binds answers when resuming from a checkpoint id (also a fork)', async () => {
      const { workflow } = twiceAskingWriter();
      const first = await workflow.run('write');
      const q1 = first.pendingInputs[0]!;
      const second = await workflow.resume({ runId: first.runId, input: { [APPROVE]: { ok: true } } });
      const q2 = second.pendingInputs[0]!;
      // Time travel to the first question's checkpoint: there q1 is pending, so binding to q2 is refused.
      const bindTo = (requestId: string) =>
        workflow.resume({ checkpointId: first.checkpointId!, input: { [APPROVE]: { ok: true } }, requestIds: { [APPROVE]: requestId } });
      await expect(bindTo(q2.requestId!)).rejects.toThrow(InputAlreadyAnsweredError);
      const fork = await bindTo(q1.requestId!);
      expect(fork.runId).not.toBe(first.runId);
      expect(fork.status).toBe('pending_input');
      const refused = workflow.resume({ checkpointId: second.checkpointId!, input: { [APPROVE]: { ok: true } }, requestIds: { [APPROVE]: q1.requestId! } });
      await expect(refused).rejects.toThrow(InputAlreadyAnsweredError);
      const done = await workflow.resume({ checkpointId: second.checkpointId!, input: { [APPROVE]: { ok: true } }, requestIds: { [APPROVE]: q2.requestId! } });
      expect(done).toMatchObject({ runId: first.runId, status: 'success' });
    });
  });
}
