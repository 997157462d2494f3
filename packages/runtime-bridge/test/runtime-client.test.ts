import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { describe, expect, it } from '@jest/globals';
import { MemoryAdapter } from '@savepoint/core';
import { createRuntimeClient, RuntimeClientError, type EventEnvelope, type RuntimeClientOptions } from '../src/client.js';
import { createRuntime, type RuntimeOptions } from '../src/index.js';
import { serveEach } from './support/serve-each.js';
import { researchWorkflow } from './support/schema-workflows.js';

const TENANT = { 'x-tenant': 'acme' };

// The browser-safe client against a real runtime served by node:http.
describe('createRuntimeClient (end to end)', () => {
  const serve = serveEach();

  async function start(options: Partial<RuntimeOptions> = {}) {
    const backend = new MemoryAdapter();
    const { workflow } = researchWorkflow(backend);
    const runtime = createRuntime({
      workflows: { research: workflow },
      backend,
      reaper: false,
      pollIntervalMs: 10,
      auth: (request) => (request.headers.get('x-tenant') ? { tenantId: 'acme', userId: 'ada' } : null),
      ...options,
    });
    const server = await serve(runtime);
    const requests: string[] = [];
    const client = (extra: Partial<RuntimeClientOptions> = {}) =>
      createRuntimeClient<typeof runtime>({
        baseUrl: `${server.url}/`,
        headers: () => TENANT,
        fetch: (url, init) => {
          requests.push(`${init.method} ${url.slice(server.url.length)}`);
          return fetch(url, init);
        },
        ...extra,
      });
    return { client: client(), makeClient: client, requests, server };
  }

  it('starts a run, streams its events until run_paused, answers, and sees run_completed with the output', async () => {
    const { client } = await start({ hitlTimeoutMs: 0 });
    const run = await client.startRun('research', { topic: 'AI', depth: 3 });
    expect(run).toEqual({ runId: expect.any(String), status: 'active', workflow: 'research' });
    const seen: EventEnvelope[] = [];
    let question: { nodePath: string; requestId?: string | undefined } | undefined;
    for await (const event of client.events(run)) {
      seen.push(event);
      if (event.type === 'approval_requested') question = event.data;
      if (event.type === 'run_paused') {
        expect(event.data.pendingInputs).toEqual([expect.objectContaining({ nodePath: 'approve', requestId: question!.requestId })]);
        expect(await client.answer(run, question!.nodePath, { ok: true }, { requestId: question!.requestId!, idempotencyKey: 'answer-1' })).toEqual({ accepted: true, runId: run.runId });
      }
    }
    // The iteration ends by itself once the run has finished.
    const last = seen.at(-1)!;
    expect(last.type).toBe('run_completed');
    if (last.type === 'run_completed') expect(last.data.output).toBe('published: AI at depth 3');
    expect(seen.map((e) => e.seq)).toEqual(seen.map((_, i) => i + 1));
    expect(seen.map((e) => e.type)).toEqual(expect.arrayContaining(['run_started', 'approval_requested', 'run_paused', 'approval_received']));

    expect(await client.getRun(run)).toMatchObject({ runId: run.runId, workflow: 'research', status: 'completed', output: 'published: AI at depth 3' });
    expect(await client.listRuns({ status: 'completed', workflow: 'research', mine: true, limit: 5 })).toEqual({
      runs: [expect.objectContaining({ runId: run.runId, status: 'completed' })],
      nextCursor: null,
    });
    expect((await client.listRuns()).runs).toHaveLength(1);
    expect((await client.listWorkflows()).map((w) => [w.name, w.questions.map((q) => q.nodePath)])).toEqual([['research', ['approve']]]);
  });

  it('turns refusals into RuntimeClientError: a 422 with the input issues, 404, 409 and 401', async () => {
    const { client, makeClient } = await start({ hitlTimeoutMs: 0 });
    const refused = await client.startRun('research', { topic: '', depth: 0 }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(RuntimeClientError);
    expect(refused).toMatchObject({
      name: 'RuntimeClientError',
      status: 422,
      code: 'INVALID_RUN_INPUT',
      message: expect.stringMatching(/refused the run input/),
      issues: [
        { path: 'topic', message: expect.any(String) },
        { path: 'depth', message: expect.any(String) },
      ],
    });
    expect(await client.listRuns()).toEqual({ runs: [], nextCursor: null });
    await expect(client.getRun('missing')).rejects.toMatchObject({ status: 404, code: 'NOT_FOUND', issues: [], reason: undefined });
    const events = client.events('missing', { retries: 3 });
    await expect(events.next()).rejects.toMatchObject({ status: 404, code: 'NOT_FOUND' });

    const run = await client.startRun('research', { topic: 'AI', depth: 1 }, { runId: 'mine-1', metadata: { from: 'client' } });
    expect(run.runId).toBe('mine-1');
    await expect(client.startRun('research', { topic: 'AI', depth: 1 }, { runId: 'mine-1' })).rejects.toMatchObject({ status: 409, code: 'CHECKPOINT_CONFLICT' });
    for await (const event of client.events(run)) if (event.type === 'run_paused') break;
    await client.answer(run, 'approve', { ok: true }, { idempotencyKey: 'first' });
    await expect(client.answer(run, 'approve', { ok: false }, { idempotencyKey: 'second' })).rejects.toMatchObject({ status: 409, code: 'INPUT_ALREADY_ANSWERED' });
    await expect(client.answer(run, 'approve', { ok: 'yes' })).rejects.toMatchObject({ status: expect.any(Number) });
    await expect(makeClient({ headers: {} }).listRuns()).rejects.toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
  });

  it('resumes with answers and cancels', async () => {
    const { client } = await start({ hitlTimeoutMs: 0 });
    const waitPaused = async (runId: string) => {
      for await (const event of client.events(runId)) if (event.type === 'run_paused') return event.seq;
      throw new Error('the run never paused');
    };
    const first = await client.startRun('research', { topic: 'A', depth: 1 });
    const pausedAt = await waitPaused(first.runId);
    expect(await client.resume(first, { input: { approve: { ok: false } } })).toEqual({ runId: first.runId });
    const after: string[] = [];
    for await (const event of client.events(first, { after: pausedAt })) after.push(event.type);
    expect(after.at(-1)).toBe('run_completed');
    expect(after).not.toContain('run_paused');
    expect(await client.getRun(first.runId)).toMatchObject({ status: 'completed', output: 'dropped' });

    const second = await client.startRun('research', { topic: 'B', depth: 1 });
    await waitPaused(second.runId);
    expect(await client.cancel(second)).toEqual({ runId: second.runId, status: 'canceled' });
    expect((await client.listRuns({ status: 'canceled' })).runs).toEqual([expect.objectContaining({ runId: second.runId })]);
  });

  it('pages through runs and checkpoints (nextCursor, iterateRuns, iterateCheckpoints) and deletes a run', async () => {
    const { client, requests } = await start({ hitlTimeoutMs: 0 });
    const runs: string[] = [];
    for (const topic of ['A', 'B', 'C']) {
      const run = await client.startRun('research', { topic, depth: 1 });
      for await (const event of client.events(run)) if (event.type === 'run_paused') break;
      runs.push(run.runId);
    }
    const first = await client.listRuns({ limit: 2 });
    expect(first.runs.map((r) => r.runId)).toEqual([runs[2], runs[1]]);
    expect((await client.listRuns({ limit: 2, cursor: first.nextCursor! })).runs.map((r) => r.runId)).toEqual([runs[0]]);
    const listed: string[] = [];
    requests.length = 0;
    for await (const run of client.iterateRuns({ limit: 2, status: 'pending_input' })) listed.push(run.runId);
    expect(listed).toEqual([...runs].reverse());
    expect(requests).toEqual(['GET /runs?limit=2&status=pending_input', expect.stringMatching(/^GET \/runs\?limit=2&status=pending_input&cursor=/)]);

    const history = await client.listCheckpoints(runs[0]!, { limit: 1 });
    expect(history).toEqual({ checkpoints: [expect.objectContaining({ runId: runs[0], status: 'pending_input' })], nextCursor: expect.any(String) });
    const seqs: number[] = [];
    for await (const checkpoint of client.iterateCheckpoints(runs[0]!, { limit: 1 })) seqs.push(checkpoint.seq);
    expect(seqs).toEqual((await client.listCheckpoints(runs[0]!)).checkpoints.map((c) => c.seq));
    expect(seqs.length).toBeGreaterThan(1);

    expect(await client.deleteRun(runs[0]!)).toEqual({ runId: runs[0], deleted: true, canceled: true, deletedCheckpoints: seqs.length });
    await expect(client.getRun(runs[0]!)).rejects.toMatchObject({ status: 404, code: 'NOT_FOUND' });
    await expect(client.deleteRun(runs[0]!)).rejects.toMatchObject({ status: 404, code: 'NOT_FOUND' });
    await expect(client.listRuns({ cursor: 'bogus' })).rejects.toMatchObject({ status: 400, code: 'INVALID_ARGUMENT', message: expect.stringContaining('Invalid cursor') });
  });

  it('reopens a broken event stream after the last event it delivered: nothing missed, nothing twice', async () => {
    const { client, requests, server: test } = await start({ hitlTimeoutMs: 60_000 });
    const streams: Socket[] = [];
    test.server.on('request', (request: IncomingMessage) => {
      if (request.url?.includes('/events')) streams.push(request.socket);
    });
    const run = await client.startRun('research', { topic: 'AI', depth: 1 });
    const seen: EventEnvelope[] = [];
    for await (const event of client.events(run)) {
      seen.push(event);
      if (event.type === 'approval_requested') {
        // The stream's connection drops (a proxy, a network change); the run goes on waiting live.
        for (const socket of streams) socket.destroy();
        await client.answer(run, 'approve', { ok: true }, { requestId: event.data.requestId! });
      }
    }
    expect(seen.at(-1)).toMatchObject({ type: 'run_completed', data: { output: 'published: AI at depth 1' } });
    expect(seen.map((e) => e.seq)).toEqual(seen.map((_, i) => i + 1));
    const asked = seen.find((e) => e.type === 'approval_requested')!;
    expect(requests.filter((request) => request.includes('/events'))).toEqual([`GET /runs/${run.runId}/events?after=0`, `GET /runs/${run.runId}/events?after=${asked.seq}`]);
  });
});

/** A fetch that answers the event stream requests with the given responses, in order, and records their URLs. */
function scripted(responses: Array<() => Response | Promise<Response>>) {
  const urls: string[] = [];
  const fetchFn = async (url: string) => {
    urls.push(url);
    const next = responses.shift();
    if (!next) throw new Error('no more scripted responses');
    return next();
  };
  return { urls, client: createRuntimeClient({ baseUrl: 'http://runtime.test/api', fetch: fetchFn }) };
}
const ndjson = (...lines: unknown[]) => () =>
  new Response(lines.map((line) => `${typeof line === 'string' ? line : JSON.stringify(line)}\n`).join(''), { headers: { 'content-type': 'application/x-ndjson' } });
const envelope = (seq: number, type: string, data: unknown = {}) => ({ seq, runId: 'r1', type, data, ts: 1 });
const collect = async <T>(iterable: AsyncIterable<T>) => {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
};

describe('createRuntimeClient events(): reconnecting and giving up', () => {
  it('skips heartbeats and repeats, retries a 503 and a stream that ended, and resumes after the last seq', async () => {
    const unavailable = () => new Response(JSON.stringify({ error: { code: 'UNAVAILABLE', message: 'shutting down' } }), { status: 503 });
    const { urls, client } = scripted([ndjson(envelope(1, 'run_started'), '', envelope(1, 'run_started')), unavailable, ndjson(), ndjson(envelope(2, 'run_completed', { output: 1 }))]);
    const events = await collect(client.events('r1'));
    expect(events.map((e) => [e.seq, e.type])).toEqual([
      [1, 'run_started'],
      [2, 'run_completed'],
    ]);
    expect(urls).toEqual(['http://runtime.test/api/runs/r1/events?after=0', ...Array(3).fill('http://runtime.test/api/runs/r1/events?after=1')]);
  });

  it('gives up after `retries` streams in a row that sent nothing, or that could not be opened', async () => {
    const silent = scripted([ndjson(), ndjson()]);
    await expect(collect(silent.client.events('r1', { retries: 1 }))).rejects.toMatchObject({ status: 0, code: 'UNREACHABLE', message: expect.stringMatching(/ended 2 times in a row/) });
    const offline = scripted([() => Promise.reject(new TypeError('fetch failed'))]);
    const error = await collect(offline.client.events('r1', { retries: 0 })).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 0, code: 'UNREACHABLE', message: expect.stringMatching(/GET \/runs\/r1\/events\?after=0 got no answer \(fetch failed\)/) });
    expect((error as Error).cause).toBeInstanceOf(TypeError);
    const broken = scripted([() => new Response(new ReadableStream({ pull: (controller) => controller.error(new TypeError('terminated')) }))]);
    await expect(collect(broken.client.events('r1', { retries: 0 }))).rejects.toMatchObject({ code: 'UNREACHABLE', message: expect.stringMatching(/The event stream got no answer \(terminated\)/) });
  });

  it('refuses a stream that is not the runtime\'s', async () => {
    const { client } = scripted([ndjson('<html>')]);
    await expect(collect(client.events('r1'))).rejects.toMatchObject({ code: 'UNEXPECTED_RESPONSE', message: expect.stringMatching(/not JSON \(<html>\)/) });
  });

  it('follows past the end with untilFinished: false, from `after`, until the loop breaks or the signal aborts', async () => {
    const { urls, client } = scripted([ndjson(envelope(6, 'run_completed'), envelope(7, 'custom_note', { n: 1 }))]);
    const types: string[] = [];
    for await (const event of client.events('r1', { after: 5, untilFinished: false })) {
      types.push(event.type);
      if (types.length === 2) break;
    }
    expect(types).toEqual(['run_completed', 'custom_note']);
    expect(urls).toEqual(['http://runtime.test/api/runs/r1/events?after=5']);

    const aborted = new AbortController();
    aborted.abort();
    const never = scripted([]);
    expect(await collect(never.client.events('r1', { signal: aborted.signal }))).toEqual([]);
    expect(never.urls).toEqual([]);

    const stop = new AbortController();
    const hanging = scripted([() => new Response(new ReadableStream({ start: (controller) => controller.enqueue(new TextEncoder().encode(`${JSON.stringify(envelope(1, 'run_started'))}\n`)) }))]);
    const seen: string[] = [];
    for await (const event of hanging.client.events('r1', { signal: stop.signal })) {
      seen.push(event.type);
      stop.abort();
    }
    expect(seen).toEqual(['run_started']);
  });
});

describe('createRuntimeClient requests', () => {
  it('sends JSON with the given headers, and names what is wrong when the answer is not the runtime\'s or nothing answers', async () => {
    const sent: Array<{ url: string; init: RequestInit }> = [];
    const client = createRuntimeClient({
      baseUrl: 'http://runtime.test',
      headers: { authorization: 'Bearer t' },
      fetch: async (url, init) => {
        sent.push({ url, init });
        return url.endsWith('/cancel') ? new Response('<html>Bad gateway</html>', { status: 502 }) : Response.json({ accepted: true, runId: 'r 1' }, { status: 202 });
      },
    });
    expect(await client.answer({ runId: 'r 1' }, 'review/check', 'yes')).toEqual({ accepted: true, runId: 'r 1' });
    const headers = new Headers(sent[0]!.init.headers);
    expect([sent[0]!.url, headers.get('authorization'), headers.get('content-type'), headers.get('idempotency-key')]).toEqual([
      'http://runtime.test/runs/r%201/input',
      'Bearer t',
      'application/json',
      null,
    ]);
    expect(JSON.parse(sent[0]!.init.body as string)).toEqual({ input: { 'review/check': 'yes' } });
    await expect(client.cancel('r 1')).rejects.toMatchObject({ status: 502, code: 'UNEXPECTED_RESPONSE', message: expect.stringMatching(/POST \/runs\/r%201\/cancel got HTTP 502/) });
    expect(sent[1]!.init.body).toBe('{}');

    const nobody = createRuntimeClient({ baseUrl: 'http://127.0.0.1:1' });
    await expect(nobody.listWorkflows()).rejects.toMatchObject({ status: 0, code: 'UNREACHABLE', message: expect.stringMatching(/^GET \/workflows got no answer/) });
  });
});
