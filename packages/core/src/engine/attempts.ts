import { NodeTimeoutError } from '../errors.js';
import type { NodeError } from '../models/checkpoint.js';
import { backoffDelayMs } from '../util/backoff.js';
import type { Clock } from './clock.js';
import { toNodeError } from './node-error.js';
import { isNeverRetried, type RetryPolicy } from './retry-policy.js';

/** The payload of a `node_retrying` event. */
export interface NodeRetrying {
  nodeId: string;
  nodePath: string;
  /** The attempt that failed. */
  attempt: number;
  nextAttempt: number;
  delayMs: number;
  /** Epoch milliseconds when the next attempt is due. */
  dueAt: number;
  error: NodeError;
}

export interface AttemptsOptions<T> {
  nodeId: string;
  nodePath: string;
  policy: RetryPolicy;
  timeoutMs: number | undefined;
  clock: Clock;
  /** The execution's signal: aborting it ends an attempt or a back-off at once. */
  signal: AbortSignal;
  /** The number of the first attempt to run (attempt numbers never restart within a run). */
  attempt: number;
  /** Attempts of this series already used before `attempt` (a resume during a back-off). */
  used?: number;
  /** Wait this long before the first attempt (the remainder of a back-off interrupted by a crash). */
  waitMs?: number;
  run(attempt: number, signal: AbortSignal): Promise<T>;
  /** Called before each attempt starts; what it throws ends the execution. */
  onAttempt?(attempt: number): void | Promise<void>;
  /** Records the failed attempt (durably, where the caller can) before the back-off; what it throws ends the retries. */
  beforeBackoff?(retrying: NodeRetrying, used: number): Promise<void>;
  emit(type: 'node_retrying', data: NodeRetrying): void;
  /** Set when the execution must stop (e.g. the run lost its lease): no further attempt starts. */
  stopped?(): Error | undefined;
}

/** True for the signal of an attempt abandoned at its time limit: what it still does must not touch the state. */
export function abandoned(signal: AbortSignal): boolean {
  return signal.aborted && NodeTimeoutError.isInstance(signal.reason);
}

/** Thrown value of the last attempt, with its number. */
export class AttemptsFailed {
  constructor(
    readonly error: unknown,
    readonly attempt: number,
  ) {}
}

/**
 * Runs attempts until one succeeds, the policy allows no more, or the error is never retried; between them it
 * waits the back-off (honouring the signal). Rejects with `AttemptsFailed` carrying the last error.
 */
export async function runAttempts<T>(options: AttemptsOptions<T>): Promise<T> {
  const { policy, clock, signal } = options;
  let attempt = options.attempt;
  let used = options.used ?? 0;
  try {
    if (options.waitMs) await clock.sleep(options.waitMs, signal);
  } catch (error) {
    throw new AttemptsFailed(error, attempt - 1);
  }
  for (;;) {
    await options.onAttempt?.(attempt);
    try {
      return await runAttempt(options, attempt);
    } catch (error) {
      used += 1;
      if (!shouldRetry(options, error, attempt, used)) throw new AttemptsFailed(error, attempt);
      try {
        await backOff(options, error, attempt, used);
      } catch (stop) {
        throw new AttemptsFailed(signal.aborted ? signal.reason : stop, attempt);
      }
      attempt += 1;
    }
  }
}

/** `runAttempts` for nested calls (a tool, a map item, an LLM call): rejects with the last attempt's own error. */
export async function withRetries<T>(options: AttemptsOptions<T>): Promise<T> {
  try {
    return await runAttempts(options);
  } catch (thrown) {
    throw thrown instanceof AttemptsFailed ? thrown.error : thrown;
  }
}

function shouldRetry(options: AttemptsOptions<unknown>, error: unknown, attempt: number, used: number): boolean {
  const { policy, signal } = options;
  if (used >= policy.maxAttempts || signal.aborted || options.stopped?.() || isNeverRetried(error)) return false;
  return policy.retryOn ? policy.retryOn(error, attempt) : true;
}

/** `used`: attempts of this series so far, so the first back-off waits `initialDelayMs` whatever the attempt number. */
async function backOff(options: AttemptsOptions<unknown>, error: unknown, attempt: number, used: number): Promise<void> {
  const { policy, clock, signal } = options;
  const delayMs = Math.round(backoffDelayMs(policy, used, clock.random));
  const retrying: NodeRetrying = {
    nodeId: options.nodeId,
    nodePath: options.nodePath,
    attempt,
    nextAttempt: attempt + 1,
    delayMs,
    dueAt: clock.now() + delayMs,
    error: toNodeError(error),
  };
  await options.beforeBackoff?.(retrying, used);
  options.emit('node_retrying', retrying);
  await clock.sleep(delayMs, signal);
}

/**
 * One attempt under `timeoutMs`: its signal aborts with a `NodeTimeoutError` when time is up, and the attempt
 * is abandoned then, so a node that ignores its signal cannot hold the run. It also ends at once when the
 * execution's signal aborts. No timer outlives the attempt.
 */
async function runAttempt<T>(options: AttemptsOptions<T>, attempt: number): Promise<T> {
  const { timeoutMs, signal: parent } = options;
  // Without a time limit the attempt runs on the execution's own signal, exactly as without retries.
  if (timeoutMs === undefined) return options.run(attempt, parent);
  if (parent.aborted) throw parent.reason;
  const controller = new AbortController();
  let timer!: ReturnType<typeof setTimeout>;
  let onParentAbort!: () => void;
  const stopped = new Promise<never>((_, reject) => {
    onParentAbort = () => {
      controller.abort(parent.reason);
      reject(parent.reason);
    };
    timer = setTimeout(() => {
      const error = new NodeTimeoutError(
        `Node "${options.nodePath}" timed out after ${timeoutMs} ms (attempt ${attempt}); its signal was aborted. Raise timeoutMs or make it faster.`,
      );
      error.nodePath = options.nodePath;
      error.timeoutMs = timeoutMs;
      controller.abort(error);
      reject(error);
    }, timeoutMs);
  });
  parent.addEventListener('abort', onParentAbort, { once: true });
  const running = Promise.resolve().then(() => options.run(attempt, controller.signal));
  // An abandoned attempt may still reject later: that is not an unhandled rejection.
  running.catch(() => undefined);
  stopped.catch(() => undefined);
  try {
    return await Promise.race([running, stopped]);
  } finally {
    clearTimeout(timer);
    parent.removeEventListener('abort', onParentAbort);
  }
}
