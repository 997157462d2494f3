// The Hono app called in-process with Web Requests (`app.request`), as Hono's own tests do: no port, no server.
// The run is followed over Server-Sent Events, resuming the stream with Last-Event-ID like a browser's EventSource.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { createApp } from '../src/app.js';

const dir = mkdtempSync(join(tmpdir(), 'savepoint-example-hono-'));
const { app, close } = createApp({ dir, apiKey: 'k-test', hitlTimeoutMs: 60_000 });
const headers = { 'x-api-key': 'k-test', 'content-type': 'application/json' };

afterAll(async () => {
  await close();
  rmSync(dir, { recursive: true, force: true });
});

interface Frame {
  id: number;
  event: string;
  data: { type: string; data: Record<string, unknown> };
}

/** Reads SSE frames (`id:`, `event:`, `data:` lines, a blank line between frames) until `until` matches one. */
async function readUntil(runId: string, until: string, lastEventId?: number): Promise<Frame[]> {
  const controller = new AbortController();
  const response = await app.request(`/api/runs/${runId}/events`, {
    headers: { 'x-api-key': 'k-test', ...(lastEventId ? { 'last-event-id': String(lastEventId) } : {}) },
    signal: controller.signal,
  });
  expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const frames: Frame[] = [];
  let buffer = '';
  const decoder = new TextDecoder();
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const lines = buffer.slice(0, end).split('\n');
        buffer = buffer.slice(end + 2);
        const field = (name: string) => lines.find((line) => line.startsWith(`${name}: `))?.slice(name.length + 2);
        if (field('data') === undefined) continue; // a heartbeat comment
        const frame = { id: Number(field('id')), event: field('event')!, data: JSON.parse(field('data')!) };
        frames.push(frame);
        if (frame.event === until) return frames;
      }
    }
  } finally {
    controller.abort();
  }
  throw new Error(`stream ended before ${until}: ${frames.map((f) => f.event).join(', ')}`);
}

describe('Hono example', () => {
  it('serves its own routes and refuses the runtime without the API key', async () => {
    expect(await (await app.request('/')).text()).toContain('POST /api/runs');
    expect((await app.request('/api/runs')).status).toBe(401);
  });

  it('asks the editor, refuses an answer that breaks the schema, publishes under the new title', async () => {
    const started = await app.request('/api/runs', { method: 'POST', headers, body: JSON.stringify({ workflow: 'post', input: { topic: 'durable runs' } }) });
    expect(started.status).toBe(202);
    const { runId } = (await started.json()) as { runId: string };

    const before = await readUntil(runId, 'approval_requested');
    const question = before.at(-1)!;
    expect(question.data.data).toMatchObject({ nodePath: 'review', prompt: 'Publish "Notes on durable runs"?' });
    const requestIds = { review: question.data.data.requestId };

    const wrong = await app.request(`/api/runs/${runId}/input`, { method: 'POST', headers, body: JSON.stringify({ input: { review: { publish: 'yes' } }, requestIds }) });
    expect(wrong.status).toBe(422);
    expect(((await wrong.json()) as { error: { code: string } }).error.code).toBe('INVALID_RESUME_INPUT');

    const answer = { review: { publish: true, title: 'Runs that survive a deploy' } };
    const accepted = await app.request(`/api/runs/${runId}/input`, { method: 'POST', headers, body: JSON.stringify({ input: answer, requestIds }) });
    expect(accepted.status).toBe(202);

    // Reconnect where the first stream stopped: only what came after the question is replayed.
    const after = await readUntil(runId, 'run_completed', question.id);
    expect(after[0]!.id).toBe(question.id + 1);
    expect(after.at(-1)!.data.data).toMatchObject({ output: { published: true, title: 'Runs that survive a deploy' } });
  });
});
