// The Fastify app on a real port against the Redis server (REDIS_URL), on a key prefix of its own that is removed
// afterwards. Without a server the suite skips loudly; under CI it fails instead.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { REDIS_URL, removeRedisKeys, serverProblem } from '@savepoint/test-servers';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { createApp } from '../src/app.js';

const describeRedis = serverProblem('redis', 'the Fastify example') === null ? describe : describe.skip;
const prefix = `sp-example-fastify-${process.pid}-${randomBytes(3).toString('hex')}:`;
const headers = { authorization: 'Bearer s-lin', 'content-type': 'application/json' };

interface Envelope {
  seq: number;
  type: string;
  data: Record<string, unknown>;
}

describeRedis('Fastify example', () => {
  let app: FastifyInstance;
  let base: string;

  beforeAll(async () => {
    app = await createApp({ redisUrl: REDIS_URL, prefix, sessions: { 's-lin': { tenantId: 'shop', userId: 'lin' } } });
    base = await app.listen({ port: 0, host: '127.0.0.1' });
  });

  afterAll(async () => {
    await app?.close();
    const redis = new Redis(REDIS_URL);
    await removeRedisKeys(redis, prefix);
    await redis.quit();
  });

  /** Follows a run's event log as NDJSON (one envelope per line) from `after` until `until` arrives. */
  async function follow(runId: string, until: string, after = 0): Promise<Envelope[]> {
    const controller = new AbortController();
    const response = await fetch(`${base}/runs/${runId}/events?after=${after}`, {
      headers: { authorization: headers.authorization, accept: 'application/x-ndjson' },
      signal: controller.signal,
    });
    const seen: Envelope[] = [];
    let buffer = '';
    const decoder = new TextDecoder();
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        const lines = buffer.split('\n');
        buffer = lines.pop()!;
        for (const line of lines.filter((l) => l.trim() !== '')) {
          seen.push(JSON.parse(line) as Envelope);
          if (seen.at(-1)!.type === until) return seen;
        }
      }
    } finally {
      controller.abort();
    }
    throw new Error(`stream ended before ${until}`);
  }

  it('serves Fastify routes next to the runtime', async () => {
    expect(await (await fetch(`${base}/health`)).json()).toMatchObject({ ok: true });
  });

  it('lists the refund as waiting, takes the lead decision and settles it once', async () => {
    const started = await fetch(`${base}/runs`, { method: 'POST', headers, body: JSON.stringify({ workflow: 'refund', input: { orderId: 'A-17', reason: 'arrived broken' } }) });
    expect(started.status).toBe(202);
    const { runId } = (await started.json()) as { runId: string };

    const asked = (await follow(runId, 'approval_requested')).at(-1)!;
    expect(asked.data).toMatchObject({ nodePath: 'decide', prompt: 'Refund 19.99 EUR of order A-17 ("arrived broken")?' });

    const waiting = (await (await fetch(`${base}/runs?status=pending_input`, { headers })).json()) as { runs: Array<{ runId: string }> };
    expect(waiting.runs.map((run) => run.runId)).toContain(runId);

    const body = JSON.stringify({ input: { decide: { refund: true } }, requestIds: { decide: asked.data.requestId } });
    const answer = () => fetch(`${base}/runs/${runId}/input`, { method: 'POST', headers: { ...headers, 'idempotency-key': 'tap-1' }, body });
    expect((await answer()).status).toBe(202);
    expect((await answer()).status).toBe(202); // a retried tap with the same key is the same answer, not a second one

    const done = (await follow(runId, 'run_completed', asked.seq)).at(-1)!;
    expect(done.data).toMatchObject({ output: { refundedCents: 1999, paymentKey: `${runId}:settle` } });
  });
});
