import { describe, expect, it } from '@jest/globals';
import type { RawEventEnvelope } from '../src/index.js';
import { eventStream } from '../src/sse-stream.js';

// SSE frames are named after the envelope's type (DESIGN §8), except a type that could break the frame.
describe('eventStream (SSE)', () => {
  async function framesOf(envelopes: RawEventEnvelope[]): Promise<string[]> {
    const stop = new AbortController();
    const stream = eventStream(
      async function* () {
        yield* envelopes;
      },
      {
        format: 'sse',
        heartbeatMs: 60_000,
        signal: stop.signal,
        onError: (error) => {
          throw error;
        },
      },
    );
    const text = await new Response(stream).text();
    return text.split('\n\n').filter((frame) => frame.startsWith('id: '));
  }
  const envelope = (seq: number, type: string): RawEventEnvelope => ({ seq, runId: 'r', type, data: { n: seq }, ts: 1 });

  it('names each frame with event: <type> between id: and data:', async () => {
    const [frame] = await framesOf([envelope(1, 'approval_requested')]);
    expect(frame).toBe(`id: 1\nevent: approval_requested\ndata: ${JSON.stringify(envelope(1, 'approval_requested'))}`);
  });

  it('sends a type with a line break unnamed, so it cannot forge another field or frame', async () => {
    const forged = 'custom\nevent: run_completed\n\ndata: {}';
    const frames = await framesOf([envelope(1, forged), envelope(2, 'run_completed')]);
    expect(frames).toHaveLength(2);
    expect(frames[0]!.split('\n')).toEqual(['id: 1', `data: ${JSON.stringify(envelope(1, forged))}`]);
    expect(frames[1]).toContain('event: run_completed');
  });
});
