// Browser-safe: no server code, no node: modules (see client.ts).
import { RuntimeClientError, unreachable } from './client-error.js';
import type { RawEventEnvelope } from './events.js';

export interface EventsOptions {
  /** Only events after this `seq` (e.g. the last one a previous stream delivered). Default 0: from the run's first event. */
  after?: number;
  /** Ends the iteration (without an error) and closes the stream. Breaking out of `for await` does the same. */
  signal?: AbortSignal;
  /** End after `run_completed`, `run_failed` or `run_canceled`. Default true; false follows the run until aborted (a failed run may be resumed). */
  untilFinished?: boolean;
  /** How often in a row a lost stream is reopened before the iteration throws. Default 5 (after 0.25, 0.5, 1, 2, 4 s). */
  retries?: number;
}

/** Opens the run's NDJSON stream of the events after `after`; throws `RuntimeClientError` for an answer that is not 2xx. */
export type OpenStream = (after: number, signal: AbortSignal) => Promise<Response>;

const FINISHED = new Set(['run_completed', 'run_failed', 'run_canceled']);
const FIRST_DELAY_MS = 250;
const MAX_DELAY_MS = 4_000;

/**
 * A run's events as they are logged. A stream that breaks or ends (a proxy's idle timeout, a server restarting)
 * is reopened after the last event seen, so nothing is missed or repeated. A stream that showed it was alive (an
 * event or a heartbeat) before it broke resets the retry count; refusals other than 503 are thrown at once.
 */
export async function* followEvents(open: OpenStream, options: EventsOptions = {}): AsyncGenerator<RawEventEnvelope> {
  const { untilFinished = true, retries = 5 } = options;
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) stop.abort();
  let last = options.after ?? 0;
  let failures = 0;
  try {
    while (!stop.signal.aborted) {
      let lost: unknown;
      try {
        const response = await open(last, stop.signal);
        for await (const line of lines(response, stop.signal)) {
          failures = 0;
          if (line.trim() === '') continue; // a heartbeat
          const envelope = parseEnvelope(line);
          if (envelope.seq <= last) continue;
          last = envelope.seq;
          yield envelope;
          if (untilFinished && FINISHED.has(envelope.type)) return;
        }
      } catch (error) {
        if (stop.signal.aborted) return;
        if (error instanceof RuntimeClientError && error.status !== 0 && error.status !== 503) throw error;
        lost = error instanceof RuntimeClientError ? error : unreachable('The event stream', error);
      }
      if (stop.signal.aborted) return;
      if (failures >= retries) {
        throw lost ?? new RuntimeClientError(0, 'UNREACHABLE', `The event stream ended ${failures + 1} times in a row without sending anything; retry later.`);
      }
      await sleep(Math.min(FIRST_DELAY_MS * 2 ** failures, MAX_DELAY_MS), stop.signal);
      failures += 1;
    }
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    stop.abort();
  }
}

function parseEnvelope(line: string): RawEventEnvelope {
  try {
    return JSON.parse(line) as RawEventEnvelope;
  } catch {
    throw new RuntimeClientError(200, 'UNEXPECTED_RESPONSE', `The event stream sent a line that is not JSON (${line.slice(0, 80)}); is the base URL the runtime's?`);
  }
}

/** The response body's lines (a blank one is a heartbeat); canceled when the iteration stops early. */
async function* lines(response: Response, signal: AbortSignal): AsyncGenerator<string> {
  if (!response.body) return;
  const reader = response.body.getReader();
  const cancel = () => void reader.cancel().catch(() => undefined);
  signal.addEventListener('abort', cancel, { once: true });
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end;
      while ((end = buffer.indexOf('\n')) >= 0) {
        yield buffer.slice(0, end);
        buffer = buffer.slice(end + 1);
      }
    }
  } finally {
    signal.removeEventListener('abort', cancel);
    cancel();
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
