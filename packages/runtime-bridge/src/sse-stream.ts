import type { RawEventEnvelope } from './events.js';
import { toJson } from './json.js';

export type StreamFormat = 'sse' | 'ndjson';

export interface EventStreamOptions {
  format: StreamFormat;
  heartbeatMs: number;
  /** Aborted when the client is gone or the runtime closes: ends the stream and its subscription. */
  signal: AbortSignal;
  onError: (error: unknown, context: string) => void;
}

const encoder = new TextEncoder();

/**
 * Envelopes as a byte stream: SSE (`id:` = seq, so a reconnecting EventSource sends `Last-Event-ID`;
 * `event:` = the envelope's type, so `addEventListener(type)` works) or NDJSON. Heartbeats (an SSE
 * comment, a blank NDJSON line) keep proxies from closing an idle stream and reveal a dead client. Events are pulled from the log only as fast as the client reads them, and
 * everything (heartbeat timer, log subscription) is released when the client goes away.
 */
export function eventStream(events: (signal: AbortSignal) => AsyncIterable<RawEventEnvelope>, options: EventStreamOptions): ReadableStream<Uint8Array> {
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  options.signal.addEventListener('abort', onAbort, { once: true });
  let heartbeat: NodeJS.Timeout | undefined;
  let pulled: (() => void) | undefined;
  const release = () => {
    clearInterval(heartbeat);
    options.signal.removeEventListener('abort', onAbort);
    stop.abort();
    pulled?.();
  };
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        const send = (text: string) => {
          try {
            controller.enqueue(encoder.encode(text));
          } catch {
            // The client canceled between a tick and this write: `cancel` releases everything.
          }
        };
        // The retry hint and a first comment make proxies and browsers open the stream at once.
        if (options.format === 'sse') send('retry: 1000\n: connected\n\n');
        heartbeat = setInterval(() => send(options.format === 'sse' ? ': ping\n\n' : '\n'), options.heartbeatMs);
        void (async () => {
          try {
            for await (const envelope of events(stop.signal)) {
              const json = toJson(envelope);
              send(options.format === 'sse' ? sseFrame(envelope, json) : `${json}\n`);
              // Backpressure: wait for the client to read before fetching more (a canceled stream also
              // reports no room, so never wait once released).
              if (stop.signal.aborted) break;
              if ((controller.desiredSize ?? 1) <= 0) await new Promise<void>((resolve) => (pulled = resolve));
            }
          } catch (error) {
            if (!stop.signal.aborted) options.onError(error, 'streaming run events');
          } finally {
            release();
            try {
              controller.close();
            } catch {
              // Already canceled by the client.
            }
          }
        })();
      },
      pull() {
        const resolve = pulled;
        pulled = undefined;
        resolve?.();
      },
      cancel() {
        release();
      },
    },
    { highWaterMark: 64 },
  );
}

/**
 * One SSE frame. A type a node emitted with a line break cannot be an `event:` line (it would end the field
 * early and forge another), so such an event goes out unnamed: EventSource's `onmessage` receives it.
 */
function sseFrame(envelope: RawEventEnvelope, json: string): string {
  const name = /[\r\n]/.test(envelope.type) ? '' : `event: ${envelope.type}\n`;
  return `id: ${envelope.seq}\n${name}data: ${json}\n\n`;
}
