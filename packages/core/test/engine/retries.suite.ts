// Node retries and timeouts (issue 9 §1), runnable against any StorageAdapter: core runs it on MemoryAdapter,
// tests/invariants on the file and SQLite backends. Back-offs wait on a fake clock (no timing assertions); the
// timeout cases use limits of a few milliseconds on nodes that never answer, so only the outcome is asserted.
import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import {
  Agent,
  Flow,
  FunctionNode,
  InvalidResumeInputError,
  MapNode,
  NodeFailedError,
  NodeTimeoutError,
  NonRetryableError,
  ScriptedLLM,
  systemClock,
  UnserializableStateError,
  Workflow,
  tool,
  type Clock,
  type MapState,
  type NodeContext,
  type NodeDefaults,
  type NodeRetrying,
  type RetryOptions,
  type StorageAdapter,
  type WorkflowEvent,
} from '../../src/index.js';
import { deferred, freezableRenewals, resumeAfterLeaseExpiry, useBackend, type SuiteBackend } from '../support/suite-harness.js';

/** A clock that moves only when a back-off sleeps on it; from sleep number `hangFrom` on, sleeps end only by abort. */
export class FakeClock implements Clock {
  time = Date.parse('2026-01-01T00:00:00Z');
  readonly sleeps: number[] = [];
  constructor(private readonly hangFrom = Infinity) {}

  now(): number {
    return this.time;
  }

  random(): number {
    return 0.5;
  }

  sleep(ms: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(signal.reason);
    this.sleeps.push(ms);
    if (this.sleeps.length < this.hangFrom) {
      this.time += ms;
      return Promise.resolve();
    }
    return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
  }
}

/** A node that throws `failures` errors (or the ones `errorFor` makes), then answers; it records each ctx it got. */
function flaky(id: string, failures: number, options: { retry?: RetryOptions; timeoutMs?: number; errorFor?: (n: number) => unknown } = {}) {
  const contexts: NodeContext[] = [];
  const node = new FunctionNode({
    id,
    ...(options.retry ? { retry: options.retry } : {}),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    run: (_input: unknown, ctx) => {
      contexts.push(ctx);
      if (contexts.length <= failures) throw options.errorFor?.(contexts.length) ?? new Error(`${id} failed (call ${contexts.length})`);
      return `${id} ok`;
    },
  });
  return { node, contexts };
}

function recordEvents(workflow: Workflow, type: string): WorkflowEvent[] {
  const events: WorkflowEvent[] = [];
  workflow.on(type, (event) => events.push(event));
  return events;
}

const never = () => new Promise<never>(() => undefined);

export function describeRetries(name: string, backend: SuiteBackend): void {
  describe(`node retries and timeouts (${name})`, () => {
    const { ref, config } = useBackend(backend);

    const workflowOf = (nodes: FunctionNode[] | Flow, extra: { clock?: Clock; nodeDefaults?: NodeDefaults; adapter?: StorageAdapter } = {}) =>
      new Workflow({
        flow: nodes instanceof Flow ? nodes : new Flow({ id: 'retries', nodes }),
        checkpoint: config({}, extra.adapter),
        clock: extra.clock ?? new FakeClock(),
        ...(extra.nodeDefaults ? { nodeDefaults: extra.nodeDefaults } : {}),
      });

    it('retries until an attempt succeeds: ctx.attempt counts, the idempotencyKey stays, back-offs grow, node_retrying says why', async () => {
      const clock = new FakeClock();
      const { node, contexts } = flaky('fetch', 2, { retry: { maxAttempts: 5, initialDelayMs: 100, factor: 3, maxDelayMs: 250 } });
      const workflow = workflowOf([node], { clock });
      const retrying = recordEvents(workflow, 'node_retrying');
      const result = await workflow.run('q', { runId: 'retry-ok' });
      expect(result).toMatchObject({ status: 'success', output: 'fetch ok' });
      expect(contexts.map((ctx) => ctx.attempt)).toEqual([1, 2, 3]);
      expect(contexts.map((ctx) => ctx.isResumed)).toEqual([false, true, true]);
      expect(new Set(contexts.map((ctx) => ctx.idempotencyKey))).toEqual(new Set(['retry-ok:fetch']));
      // min(maxDelayMs, initialDelayMs * factor^(n-1))
      expect(clock.sleeps).toEqual([100, 250]);
      expect(retrying.map((e) => e.nodeId)).toEqual(['fetch', 'fetch']);
      expect(retrying.map((e) => e.data)).toEqual([
        {
          nodeId: 'fetch',
          ...{ nodePath: 'fetch', attempt: 1, nextAttempt: 2, delayMs: 100, dueAt: expect.any(Number) },
          error: { name: 'Error', message: 'fetch failed (call 1)' },
        },
        {
          nodeId: 'fetch',
          ...{ nodePath: 'fetch', attempt: 2, nextAttempt: 3, delayMs: 250, dueAt: expect.any(Number) },
          error: { name: 'Error', message: 'fetch failed (call 2)' },
        },
      ]);
      const state = (await workflow.getLatestCheckpoint({ runId: 'retry-ok' }))!.nodeStates['fetch']!;
      expect(state).toMatchObject({ status: 'success', attempt: 3, lastError: { message: 'fetch failed (call 2)' } });
      expect(state.nextAttemptAt).toBeUndefined();
    });

    it('commits each failed attempt and when the next is due before the back-off starts', async () => {
      const clock = new FakeClock(1);
      const controller = new AbortController();
      const { node } = flaky('fetch', 1, { retry: { maxAttempts: 2, initialDelayMs: 500 } });
      const workflow = workflowOf([node], { clock });
      const sleptBeforeEvent: number[] = [];
      const waiting = new Promise<void>((resolve) =>
        workflow.on('node_retrying', () => {
          sleptBeforeEvent.push(clock.sleeps.length);
          resolve();
        }),
      );
      const running = workflow.run('q', { runId: 'retry-durable', signal: controller.signal });
      await waiting;
      // The back-off never ends on its own: what is stored now is what a crash would leave.
      const head = (await workflow.getLatestCheckpoint({ runId: 'retry-durable' }))!;
      controller.abort(new Error('stop'));
      expect((await running).status).toBe('canceled');
      expect(sleptBeforeEvent).toEqual([0]);
      expect(head.status).toBe('active');
      expect(head.nodeStates['fetch']).toMatchObject({
        status: 'running',
        attempt: 1,
        attemptsUsed: 1,
        nextAttemptAt: new Date(clock.time + 500),
        lastError: { name: 'Error', message: 'fetch failed (call 1)' },
      });
    });

    it('fails with the last error once maxAttempts is used up; the state and NodeFailedError carry the attempt', async () => {
      const { node, contexts } = flaky('fetch', Infinity, { retry: { maxAttempts: 3, initialDelayMs: 1 } });
      const workflow = workflowOf([node]);
      const result = await workflow.run('q', { runId: 'retry-exhausted' });
      expect(result.status).toBe('failure');
      expect(contexts).toHaveLength(3);
      expect(NodeFailedError.isInstance(result.error)).toBe(true);
      const error = result.error as NodeFailedError;
      expect(error).toMatchObject({ nodeId: 'fetch', attempt: 3 });
      expect(error.message).toContain('after 3 attempts: fetch failed (call 3)');
      expect((error.cause as Error).message).toBe('fetch failed (call 3)');
      const state = (await workflow.getLatestCheckpoint({ runId: 'retry-exhausted' }))!.nodeStates['fetch']!;
      expect(state).toMatchObject({ status: 'failure', attempt: 3, error: { message: 'fetch failed (call 3)' } });
      expect(state.nextAttemptAt).toBeUndefined();
      expect(state.attemptsUsed).toBeUndefined();

      // A resume after the failure is a new series: the budget starts again, attempt numbers go on.
      const resumed = await workflow.resume({ runId: 'retry-exhausted' });
      expect(resumed.status).toBe('failure');
      expect(contexts.map((ctx) => ctx.attempt)).toEqual([1, 2, 3, 4, 5, 6]);
    });

    const neverRetried: Array<[string, Error, RetryOptions]> = [
      ['retryOn returns false', new Error('HTTP 400'), { maxAttempts: 5, initialDelayMs: 1, retryOn: (error) => !String(error).includes('400') }],
      ['a NonRetryableError', new NonRetryableError('bad request', { cause: new Error('HTTP 400') }), { maxAttempts: 5, initialDelayMs: 1 }],
      ['an UnserializableStateError', new UnserializableStateError('a function at $.x'), { maxAttempts: 5, initialDelayMs: 1 }],
      ['an InvalidResumeInputError', new InvalidResumeInputError('bad answer'), { maxAttempts: 5, initialDelayMs: 1 }],
    ];
    it.each(neverRetried)('never retries %s', async (_label, error, retry) => {
      const { node, contexts } = flaky('call', Infinity, { retry, errorFor: () => error });
      const workflow = workflowOf([node]);
      const retrying = recordEvents(workflow, 'node_retrying');
      const result = await workflow.run('q');
      expect(result.status).toBe('failure');
      expect(contexts).toHaveLength(1);
      expect(retrying).toEqual([]);
      expect((result.error as NodeFailedError).cause).toBe(error);
    });

    it('passes retryOn the error and the attempt that threw it', async () => {
      const seen: Array<[string, number]> = [];
      const retryOn = (error: unknown, attempt: number) => (seen.push([(error as Error).message, attempt]), attempt < 2);
      const { node, contexts } = flaky('call', Infinity, { retry: { maxAttempts: 5, initialDelayMs: 1, retryOn } });
      await workflowOf([node]).run('q');
      expect(contexts).toHaveLength(2);
      expect(seen).toEqual([
        ['call failed (call 1)', 1],
        ['call failed (call 2)', 2],
      ]);
    });

    it('a timeout aborts the attempt signal with NodeTimeoutError, abandons the attempt and retries it', async () => {
      const signals: AbortSignal[] = [];
      const node = new FunctionNode({
        id: 'slow',
        timeoutMs: 5,
        retry: { maxAttempts: 2, initialDelayMs: 1 },
        // The first attempt ignores its signal and never answers.
        run: (_input: unknown, ctx) => (signals.push(ctx.signal), signals.length === 1 ? never() : 'fast enough'),
      });
      const workflow = workflowOf([node]);
      const retrying = recordEvents(workflow, 'node_retrying');
      const result = await workflow.run('q');
      expect(result).toMatchObject({ status: 'success', output: 'fast enough' });
      expect(signals[0]!.aborted).toBe(true);
      const reason = signals[0]!.reason as NodeTimeoutError;
      expect(NodeTimeoutError.isInstance(reason)).toBe(true);
      expect(reason).toMatchObject({ code: 'NODE_TIMEOUT', nodePath: 'slow', timeoutMs: 5 });
      expect(reason.message).toContain('Node "slow" timed out after 5 ms');
      expect(signals[1]!.aborted).toBe(false);
      expect((retrying[0]!.data as NodeRetrying).error).toMatchObject({ name: 'NodeTimeoutError', code: 'NODE_TIMEOUT' });
    });

    it('a node that ignores its signal cannot hold the run: with no attempt left it fails with NodeTimeoutError', async () => {
      const node = new FunctionNode({ id: 'stuck', timeoutMs: 5, run: never });
      const result = await workflowOf([node]).run('q');
      expect(result.status).toBe('failure');
      expect(NodeTimeoutError.isInstance((result.error as NodeFailedError).cause)).toBe(true);
    });

    it('workflow and flow nodeDefaults apply where a node sets none; the node own options win', async () => {
      const calls = (flowDefaults: NodeDefaults | undefined, own: RetryOptions | undefined) => {
        const { node, contexts } = flaky('n', Infinity, own ? { retry: own } : {});
        const flow = new Flow({ id: 'defaults', nodes: [node], ...(flowDefaults ? { nodeDefaults: flowDefaults } : {}) });
        return { workflow: workflowOf(flow, { nodeDefaults: { retry: { maxAttempts: 2, initialDelayMs: 1 } } }), contexts };
      };
      for (const [flowDefaults, own, expected] of [
        [undefined, undefined, 2],
        [{ retry: { maxAttempts: 3, initialDelayMs: 1 } }, undefined, 3],
        [{ retry: { maxAttempts: 3, initialDelayMs: 1 } }, { maxAttempts: 1 }, 1],
        [{ timeoutMs: 1_000 }, undefined, 2],
      ] as const) {
        const { workflow, contexts } = calls(flowDefaults, own);
        await workflow.run('q');
        expect(contexts).toHaveLength(expected);
      }
      // A timeout default reaches the node too.
      const stuck = new FunctionNode({ id: 'stuck', run: never });
      const timedOut = await workflowOf(new Flow({ id: 'timeouts', nodes: [stuck] }), { nodeDefaults: { timeoutMs: 5 } }).run('q');
      expect(NodeTimeoutError.isInstance((timedOut.error as NodeFailedError).cause)).toBe(true);
    });

    it('an Agent retries a failing tool call and a failing LLM call inside one execution', async () => {
      let lookups = 0;
      const keys: string[] = [];
      const lookup = tool({
        name: 'lookup',
        description: 'Looks up',
        schema: z.object({ id: z.number() }),
        retry: { maxAttempts: 3, initialDelayMs: 1 },
        run: ({ id }, ctx) => {
          keys.push(ctx.idempotencyKey);
          if (++lookups < 3) throw new Error('connection reset');
          return { id, title: 'found' };
        },
      });
      const llm = new ScriptedLLM([new Error('HTTP 503'), { toolCalls: [{ name: 'lookup', arguments: { id: 7 } }] }, 'done']);
      const agent = new Agent({ id: 'agent', llm, tools: [lookup], llmRetry: { maxAttempts: 2, initialDelayMs: 1 } });
      const workflow = new Workflow({ flow: new Flow({ id: 'agent-retries', nodes: [agent] }), checkpoint: config(), clock: new FakeClock() });
      const retrying = recordEvents(workflow, 'node_retrying');
      const result = await workflow.run('find 7', { runId: 'agent-retry' });
      expect(result).toMatchObject({ status: 'success', output: 'done' });
      expect(llm.calls).toBe(3);
      expect(lookups).toBe(3);
      expect(new Set(keys).size).toBe(1);
      expect(retrying.map((e) => [(e.data as NodeRetrying).nodePath, (e.data as NodeRetrying).attempt])).toEqual([
        ['agent/llm', 1],
        ['agent/tool:lookup', 1],
        ['agent/tool:lookup', 2],
      ]);
    });

    it('an LLM call past llmTimeoutMs is aborted and retried', async () => {
      const llm = new ScriptedLLM((_request, call) => (call === 1 ? never() : 'answered'));
      const agent = new Agent({ id: 'agent', llm, llmTimeoutMs: 5, llmRetry: { maxAttempts: 2, initialDelayMs: 1 } });
      const workflow = new Workflow({ flow: new Flow({ id: 'llm-timeout', nodes: [agent] }), checkpoint: config(), clock: new FakeClock() });
      const result = await workflow.run('hi');
      expect(result).toMatchObject({ status: 'success', output: 'answered' });
      expect(llm.calls).toBe(2);
    });

    it('a MapNode retries only the failing item, and records its attempts', async () => {
      const calls: number[] = [];
      let failed = false;
      const inner = new FunctionNode({
        id: 'double',
        run: (n: number) => {
          calls.push(n);
          if (n === 2 && !failed) {
            failed = true;
            throw new Error('item 2 flaked');
          }
          return n * 2;
        },
      });
      const map = new MapNode({ id: 'map', inner, concurrency: 1, itemRetry: { maxAttempts: 2, initialDelayMs: 1 } });
      const workflow = new Workflow({ flow: new Flow({ id: 'map-retries', nodes: [map] }), checkpoint: config(), clock: new FakeClock() });
      const retrying = recordEvents(workflow, 'node_retrying');
      const result = await workflow.run([1, 2, 3], { runId: 'map-retry' });
      expect(result).toMatchObject({ status: 'success', output: [2, 4, 6] });
      expect(calls).toEqual([1, 2, 2, 3]);
      expect((retrying[0]!.data as NodeRetrying).nodePath).toBe('map[1]/double');
      const state = (await workflow.getLatestCheckpoint({ runId: 'map-retry' }))!.nodeStates['map']!.internalState as MapState;
      expect(state.iterations.map((it) => it!.attempt)).toEqual([1, 2, 1]);
    });

    it('a cancel during a back-off ends the back-off and the run at once, as canceled, with no retry pending', async () => {
      const controller = new AbortController();
      const { node, contexts } = flaky('fetch', Infinity, { retry: { maxAttempts: 3, initialDelayMs: 60_000 } });
      // The system clock's sleep: a 60 s back-off that only the abort can end.
      const backoffs: Array<'waiting' | 'ended'> = [];
      const clock: Clock = {
        ...systemClock,
        sleep: (ms, signal) => {
          const index = backoffs.push('waiting') - 1;
          return systemClock.sleep(ms, signal).finally(() => (backoffs[index] = 'ended'));
        },
      };
      const workflow = new Workflow({ flow: new Flow({ id: 'cancel-backoff', nodes: [node] }), checkpoint: config(), clock });
      workflow.on('node_retrying', () => controller.abort(new Error('user canceled')));
      const result = await workflow.run('q', { runId: 'cancel-retry', signal: controller.signal });
      expect(result.status).toBe('canceled');
      expect(backoffs).toEqual(['ended']);
      expect(contexts).toHaveLength(1);
      const state = (await workflow.getLatestCheckpoint({ runId: 'cancel-retry' }))!.nodeStates['fetch']!;
      expect(state).toMatchObject({ status: 'canceled', attempt: 1 });
      expect(state.nextAttemptAt).toBeUndefined();
    });

    it('a shutdown during a back-off hands the run over with the retry pending; the next worker continues the series', async () => {
      const retry = { maxAttempts: 3, initialDelayMs: 60_000 };
      const a = flaky('fetch', Infinity, { retry });
      // The system clock: only the shutdown ends this minute-long back-off.
      const workerA = new Workflow({ flow: new Flow({ id: 'retries', nodes: [a.node] }), checkpoint: config() });
      workerA.on('node_retrying', () => void workerA.shutdown({ graceMs: 0 }));
      const handedOver = await workerA.run('q', { runId: 'retry-handoff' });
      expect(handedOver.status).toBe('paused');
      const pending = (await workerA.getLatestCheckpoint({ runId: 'retry-handoff' }))!.nodeStates['fetch']!;
      expect(pending).toMatchObject({ status: 'running', attempt: 1, attemptsUsed: 1, lastError: { message: 'fetch failed (call 1)' } });

      const b = flaky('fetch', 0, { retry });
      const clockB = new FakeClock();
      clockB.time = pending.nextAttemptAt!.getTime() - 1_000;
      const done = await workflowOf([b.node], { clock: clockB }).resume({ runId: 'retry-handoff' });
      expect(done).toMatchObject({ status: 'success', output: 'fetch ok' });
      expect(clockB.sleeps).toEqual([1_000]);
      expect(b.contexts.map((ctx) => ctx.attempt)).toEqual([2]);
    });

    describe('a process that dies during a back-off', () => {
      /** Worker A fails attempts 1 and 2, then its process "dies" in the second back-off (its clock never wakes). */
      const dieInBackoff = async (runId: string, maxAttempts: number) => {
        const frozen = freezableRenewals(ref.storage);
        const controller = new AbortController();
        const a = flaky('fetch', Infinity, { retry: { maxAttempts, initialDelayMs: 1_000, factor: 2 } });
        const clockA = new FakeClock(2);
        const workerA = workflowOf([a.node], { clock: clockA, adapter: frozen.adapter });
        const dead = new Promise<void>((resolve) => workerA.on('node_retrying', (e) => (e.data as NodeRetrying).attempt === 2 && resolve()));
        const running = workerA.run('q', { runId, signal: controller.signal });
        await dead;
        await frozen.freeze();
        const due = (await workerA.getLatestCheckpoint({ runId }))!.nodeStates['fetch']!;
        // The stale worker is stopped once the test is done; its late writes are fenced off.
        const bury = async () => {
          controller.abort(new Error('buried'));
          await running;
        };
        return { a, clockA, due, bury };
      };

      it('another worker resumes at attempt n+1 after waiting only the remainder of the back-off', async () => {
        const { a, clockA, due, bury } = await dieInBackoff('die-in-backoff', 4);
        expect(a.contexts.map((ctx) => ctx.attempt)).toEqual([1, 2]);
        expect(clockA.sleeps).toEqual([1_000, 2_000]);
        expect(due).toMatchObject({ status: 'running', attempt: 2, attemptsUsed: 2, lastError: { message: 'fetch failed (call 2)' } });

        const b = flaky('fetch', 0, { retry: { maxAttempts: 4, initialDelayMs: 1_000, factor: 2 } });
        const clockB = new FakeClock();
        clockB.time = due.nextAttemptAt!.getTime() - 700; // 1.3 s of the 2 s back-off went by while nobody ran the run
        const workerB = workflowOf([b.node], { clock: clockB });
        const done = await resumeAfterLeaseExpiry(() => workerB.resume({ runId: 'die-in-backoff' }));
        expect(done).toMatchObject({ status: 'success', output: 'fetch ok' });
        expect(clockB.sleeps).toEqual([700]);
        expect(b.contexts.map((ctx) => [ctx.attempt, ctx.isResumed, ctx.idempotencyKey])).toEqual([[3, true, 'die-in-backoff:fetch']]);
        expect((await workerB.getLatestCheckpoint({ runId: 'die-in-backoff' }))!.nodeStates['fetch']).toMatchObject({ status: 'success', attempt: 3 });
        await bury();
      });

      it('a process that dies during a retried attempt: the resume runs the next attempt number, never the same one again', async () => {
        const frozen = freezableRenewals(ref.storage);
        const controller = new AbortController();
        const retry = { maxAttempts: 3, initialDelayMs: 10 };
        const inSecond = deferred();
        const node = new FunctionNode({
          id: 'fetch',
          retry,
          run: (_input: unknown, ctx) => {
            if (ctx.attempt === 1) throw new Error('first fails');
            inSecond.resolve();
            return never();
          },
        });
        const running = workflowOf([node], { adapter: frozen.adapter }).run('q', { runId: 'die-in-retry', signal: controller.signal });
        await inSecond.promise;
        await frozen.freeze();

        const b = flaky('fetch', 0, { retry });
        const done = await resumeAfterLeaseExpiry(() => workflowOf([b.node]).resume({ runId: 'die-in-retry' }));
        expect(done).toMatchObject({ status: 'success', output: 'fetch ok' });
        expect(b.contexts.map((ctx) => [ctx.attempt, ctx.isResumed])).toEqual([[3, true]]);
        controller.abort(new Error('buried'));
        await running;
      });

      it('the retry budget goes on too: a resume past the due time runs at once, and the last attempt failing fails the node', async () => {
        const { due, bury } = await dieInBackoff('die-budget', 3);
        const b = flaky('fetch', Infinity, { retry: { maxAttempts: 3, initialDelayMs: 1_000, factor: 2 } });
        const clockB = new FakeClock();
        clockB.time = due.nextAttemptAt!.getTime() + 5_000;
        const workerB = workflowOf([b.node], { clock: clockB });
        const done = await resumeAfterLeaseExpiry(() => workerB.resume({ runId: 'die-budget' }));
        expect(done.status).toBe('failure');
        expect(clockB.sleeps).toEqual([]);
        expect(b.contexts.map((ctx) => ctx.attempt)).toEqual([3]);
        expect(done.error).toMatchObject({ attempt: 3 });
        expect(done.error!.message).toContain('after 3 attempts');
        await bury();
      });
    });
  });
}
