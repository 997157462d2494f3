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
  const delay = fromHeader ?? options.baseDelayMs * 2 ** attempt * (0.5 + Math.random() / 2);
  return Math.min(Math.max(0, delay), options.maxDelayMs);
}

function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : date - now;
}

/** Waits `ms`, or rejects with the signal's reason as soon as it aborts. */
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
