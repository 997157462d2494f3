import { describe, expect, it } from '@jest/globals';
import {
  Agent,
  Flow,
  FunctionNode,
  InvalidArgumentError,
  MapNode,
  NodeCheckpointState,
  NodeTimeoutError,
  NonRetryableError,
  RetryOptions,
  ScriptedLLM,
  tool,
  Workflow,
} from '../../src/index.js';
import { z } from 'zod';
import { backoffDelayMs, sleep } from '../../src/util/backoff.js';

const run = () => 'ok';

describe('retry options', () => {
  it('fill in defaults that keep today behaviour: one attempt', () => {
    expect(RetryOptions.parse({})).toEqual({ maxAttempts: 1, initialDelayMs: 1_000, factor: 2, maxDelayMs: 60_000, jitter: 0 });
    expect(new FunctionNode({ id: 'plain', run })).toMatchObject({ retry: undefined, timeoutMs: undefined });
  });

  it.each([
    ['maxAttempts 0', () => new FunctionNode({ id: 'n', run, retry: { maxAttempts: 0 } }), 'Node "n": invalid retry'],
    ['a jitter above 1', () => new FunctionNode({ id: 'n', run, retry: { jitter: 2 } }), 'Node "n": invalid retry'],
    ['an unknown key', () => new FunctionNode({ id: 'n', run, retry: { attempts: 3 } as never }), 'Node "n": invalid retry'],
    ['retryOn that is no function', () => new FunctionNode({ id: 'n', run, retry: { retryOn: true } as never }), 'retryOn must be a function'],
    ['a negative timeout', () => new FunctionNode({ id: 'n', run, timeoutMs: -1 }), 'Node "n": invalid timeoutMs'],
    ['a timeout setTimeout cannot hold', () => new FunctionNode({ id: 'n', run, timeoutMs: 2 ** 31 }), 'Node "n": invalid timeoutMs'],
    ['flow nodeDefaults', () => new Flow({ id: 'f', nodes: [new FunctionNode({ id: 'n', run })], nodeDefaults: { timeoutMs: 0 } }), 'Flow "f": invalid nodeDefaults'],
    [
      'workflow nodeDefaults',
      () => new Workflow({ flow: new Flow({ id: 'f', nodes: [new FunctionNode({ id: 'n', run })] }), nodeDefaults: { retry: { factor: 0.5 } } }),
      'Workflow "f": invalid nodeDefaults',
    ],
    ['an agent llmRetry', () => new Agent({ id: 'a', llm: new ScriptedLLM([]), llmRetry: { maxDelayMs: -1 } }), 'Agent "a": invalid llmRetry'],
    ['an agent llmTimeoutMs', () => new Agent({ id: 'a', llm: new ScriptedLLM([]), llmTimeoutMs: 1.5 }), 'Agent "a": invalid llmTimeoutMs'],
    ['a map itemRetry', () => new MapNode({ id: 'm', inner: new FunctionNode({ id: 'n', run }), itemRetry: { maxAttempts: 1.5 } }), 'Map "m": invalid itemRetry'],
    ['a map itemTimeoutMs', () => new MapNode({ id: 'm', inner: new FunctionNode({ id: 'n', run }), itemTimeoutMs: 0 }), 'Map "m": invalid itemTimeoutMs'],
    ['a tool retry', () => tool({ name: 't', description: 'd', schema: z.object({}), run, retry: { maxAttempts: -1 } }), 'Node "t": invalid retry'],
  ])('refuse %s with InvalidArgumentError', (_label, build, message) => {
    let thrown: unknown;
    try {
      build();
    } catch (error) {
      thrown = error;
    }
    expect(InvalidArgumentError.isInstance(thrown)).toBe(true);
    expect((thrown as Error).message).toContain(message);
  });
});

describe('backoffDelayMs', () => {
  const policy = { initialDelayMs: 100, factor: 2, maxDelayMs: 1_000, jitter: 0 };

  it('grows by factor per failed attempt up to maxDelayMs', () => {
    expect([1, 2, 3, 4, 5].map((attempt) => backoffDelayMs(policy, attempt))).toEqual([100, 200, 400, 800, 1_000]);
  });

  it('takes up to the jitter fraction off at random, never adding to the cap', () => {
    const jittered = { ...policy, jitter: 0.5 };
    expect(backoffDelayMs(jittered, 5, () => 0)).toBe(1_000);
    expect(backoffDelayMs(jittered, 5, () => 0.999999)).toBeCloseTo(500, 2);
    expect(backoffDelayMs({ ...policy, jitter: 1 }, 2, () => 0.25)).toBe(150);
  });
});

describe('sleep', () => {
  const activeTimers = () => process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length;

  it('clears its timer when aborted, so a canceled back-off keeps nothing alive', async () => {
    const before = activeTimers();
    const controller = new AbortController();
    const waiting = sleep(60_000, controller.signal);
    expect(activeTimers()).toBe(before + 1);
    controller.abort(new Error('canceled'));
    await expect(waiting).rejects.toThrow('canceled');
    expect(activeTimers()).toBe(before);
  });
});

describe('retry errors and state', () => {
  it('NonRetryableError and NodeTimeoutError are typed errors with codes', () => {
    const cause = new Error('HTTP 400');
    const error = new NonRetryableError('bad request', { cause });
    expect(error).toMatchObject({ code: 'NON_RETRYABLE', cause, name: 'NonRetryableError' });
    expect(NonRetryableError.isInstance(error)).toBe(true);
    expect(NodeTimeoutError.isInstance(error)).toBe(false);
    expect(new NodeTimeoutError('late').code).toBe('NODE_TIMEOUT');
  });

  it('a node state from before retries (no lastError, nextAttemptAt, attemptsUsed) still parses', () => {
    const old = { nodeId: 'n', nodeType: 'function', status: 'running', attempt: 2 };
    expect(NodeCheckpointState.parse(old)).toEqual(old);
  });
});
