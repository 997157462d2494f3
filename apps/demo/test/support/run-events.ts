// Reads a run's event log over the bridge's NDJSON stream, as a client without a browser does.
import { expect } from '@jest/globals';

export interface Envelope {
  seq: number;
  runId: string;
  type: string;
  data: Record<string, unknown>;
}

/** Reads a run's event log as NDJSON until `until` is seen (the stream replays from the start). */
export async function eventsUntil(base: string, runId: string, until: (e: Envelope) => boolean): Promise<Envelope[]> {
  const controller = new AbortController();
  const response = await fetch(`${base}/runs/${runId}/events`, { headers: { Accept: 'application/x-ndjson' }, signal: controller.signal });
  expect(response.status).toBe(200);
  const events: Envelope[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline).trim();
        buffer = buffer.slice(newline + 1);
        if (!line) continue;
        const event = JSON.parse(line) as Envelope;
        events.push(event);
        if (until(event)) return events;
      }
    }
  } finally {
    controller.abort();
  }
  throw new Error(`the stream ended before the awaited event; got ${events.map((e) => e.type).join(', ')}`);
}
