// A plain SSE / NDJSON reader over fetch (no EventSource polyfill): parses frames and keeps every envelope.
import type { EventEnvelope } from '../../src/index.js';

export interface StreamReader {
  readonly envelopes: EventEnvelope[];
  readonly status: number;
  readonly contentType: string | null;
  /** Comment lines seen (SSE heartbeats) / blank lines (NDJSON heartbeats). */
  readonly heartbeats: number;
  /** Resolves with the first envelope (already received or future) matching `predicate`. */
  waitFor(predicate: (envelope: EventEnvelope) => boolean, timeoutMs?: number): Promise<EventEnvelope>;
  close(): void;
}

export async function openStream(
  url: string,
  options: { lastEventId?: number; ndjson?: boolean; headers?: Record<string, string> } = {},
): Promise<StreamReader> {
  const abort = new AbortController();
  const response = await fetch(url, {
    signal: abort.signal,
    headers: {
      accept: options.ndjson ? 'application/x-ndjson' : 'text/event-stream',
      ...(options.lastEventId === undefined ? {} : { 'last-event-id': String(options.lastEventId) }),
      ...options.headers,
    },
  });
  const envelopes: EventEnvelope[] = [];
  const waiters = new Set<() => void>();
  let heartbeats = 0;
  let ended = false;
  const notify = () => {
    for (const waiter of waiters) waiter();
  };
  if (response.body) {
    void (async () => {
      const decoder = new TextDecoder();
      let buffer = '';
      try {
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          buffer += decoder.decode(chunk, { stream: true });
          const separator = options.ndjson ? '\n' : '\n\n';
          let index;
          while ((index = buffer.indexOf(separator)) >= 0) {
            const frame = buffer.slice(0, index);
            buffer = buffer.slice(index + separator.length);
            if (options.ndjson) {
              if (frame.trim() === '') heartbeats += 1;
              else envelopes.push(JSON.parse(frame) as EventEnvelope);
              continue;
            }
            const data = frame
              .split('\n')
              .filter((line) => line.startsWith('data: '))
              .map((line) => line.slice(6));
            if (frame.startsWith(': ping')) heartbeats += 1;
            if (data.length > 0) {
              const envelope = JSON.parse(data.join('\n')) as EventEnvelope;
              const id = /^id: (\d+)$/m.exec(frame)?.[1];
              if (id !== String(envelope.seq)) throw new Error(`SSE id ${id} does not match seq ${envelope.seq}`);
              envelopes.push(envelope);
            }
          }
          notify();
        }
      } catch {
        // aborted by close()
      } finally {
        ended = true;
        notify();
      }
    })();
  }
  return {
    envelopes,
    status: response.status,
    contentType: response.headers.get('content-type'),
    get heartbeats() {
      return heartbeats;
    },
    waitFor(predicate, timeoutMs = 20_000) {
      return new Promise<EventEnvelope>((resolve, reject) => {
        const check = () => {
          const found = envelopes.find(predicate);
          if (found) {
            cleanup();
            resolve(found);
          } else if (ended) {
            cleanup();
            reject(new Error(`stream ended without the awaited event; got ${envelopes.map((e) => e.type).join(', ')}`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out waiting for an event; got ${envelopes.map((e) => `${e.seq}:${e.type}`).join(', ')}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    close() {
      abort.abort();
    },
  };
}
