/** An exponential back-off: the shape shared by node retries, checkpoint write retries and the LLM client's HTTP retries. */
export interface BackoffPolicy {
  initialDelayMs: number;
  factor: number;
  maxDelayMs: number;
  /**
   * Fraction (0..1) of the delay that is random: the delay is multiplied by `1 - jitter * random()`, so it
   * lies in `[(1 - jitter) * d, d]` and never exceeds `maxDelayMs`. 0 = no jitter, 1 = full jitter.
   */
  jitter: number;
}

/**
 * Delay after failed attempt number `attempt` (1-based): `min(maxDelayMs, initialDelayMs * factor^(attempt-1))`,
 * then jittered. `random` is injectable so tests (and replays) are deterministic.
 */
export function backoffDelayMs(policy: BackoffPolicy, attempt: number, random: () => number = Math.random): number {
  const exponential = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.factor ** (attempt - 1));
  return Math.max(0, exponential * (1 - policy.jitter * random()));
}

export interface BackoffOptions {
  baseDelayMs: number;
  maxDelayMs: number;
}

/**
 * Delay before retry number `attempt` (0-based): the server's `Retry-After` (seconds or an HTTP date) when
 * it sent one, else exponential backoff with jitter; both capped at `maxDelayMs` so a run never stalls unbounded.
 */
export function retryDelayMs(attempt: number, retryAfter: string | null, options: BackoffOptions, now = Date.now()): number {
  const fromHeader = parseRetryAfter(retryAfter, now);
  const delay = fromHeader ?? backoffDelayMs({ initialDelayMs: options.baseDelayMs, factor: 2, maxDelayMs: Infinity, jitter: 0.5 }, attempt + 1);
  return Math.min(Math.max(0, delay), options.maxDelayMs);
}

function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : date - now;
}

/** Waits `ms`, or rejects with the signal's reason as soon as it aborts (the timer is cleared then). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
