import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { SqliteBackend } from '@savepoint/backend-sqlite';
import { MemoryAdapter, type StorageAdapter } from '@savepoint/core';
import WebSocket from 'ws';
import { createRuntime, type EventEnvelope, type Runtime, type RuntimeOptions } from '../src/index.js';
import { api, until } from './support/api.js';
import { approvalWorkflow, type ApprovalOptions, type Counters } from './support/approval-workflow.js';
import { serve, type TestServer } from './support/http-server.js';
import { openStream, type StreamReader } from './support/sse-client.js';

const dir = mkdtempSync(join(tmpdir(), 'savepoint-runtime-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const backends: Array<[string, () => StorageAdapter]> = [
  ['MemoryAdapter', () => new MemoryAdapter()],
  ['SQLite', () => new SqliteBackend({ path: join(dir, `${Math.random().toString(36).slice(2)}.db`) })],
];

/** Tenant from `x-tenant` (or `?tenant=` for WebSockets); no tenant -> 401. */
const auth: RuntimeOptions['auth'] = (request) => {
  const tenantId = request.headers.get('x-tenant') ?? new URL(request.url).searchParams.get('tenant');
  return tenantId ? { tenantId, userId: `${tenantId}-user` } : null;
};
const ACME = { 'x-tenant': 'acme' };
const OTHER = { 'x-tenant': 'globex' };

describe.each(backends)('runtime over HTTP, SSE and WebSocket (%s)', (_name, makeBackend) => {
  let backend: StorageAdapter;
  let counters: Counters;
  let runtime: Runtime;
  let server: TestServer;
  const streams: StreamReader[] = [];
  const sockets: WebSocket[] = [];

  async function start(options: Partial<RuntimeOptions> = {}, slow?: ApprovalOptions['slow']): Promise<void> {
    backend = makeBackend();
    const made = approvalWorkflow({ backend, ...(slow ? { slow } : {}) });
    counters = made.counters;
    runtime = createRuntime({ workflows: { approval: made.workflow }, backend, auth, hitlTimeoutMs: 60_000, reaper: false, pollIntervalMs: 20, ...options });
    server = await serve(runtime);
  }

  afterEach(async () => {
    for (const stream of streams.splice(0)) stream.close();
    for (const socket of sockets.splice(0)) socket.terminate();
    await server?.close();
    await backend?.close?.();
  });

  const events = async (runId: string, options: Parameters<typeof openStream>[1] = {}) => {
    const stream = await openStream(`${server.url}/runs/${runId}/events`, { headers: ACME, ...options });
    streams.push(stream);
    return stream;
  };
  const startRun = async (body: Record<string, unknown> = { workflow: 'approval', input: { topic: 'AI' } }) => {
    const response = await api(server.url, '/runs', { body, headers: ACME });
    expect(response.status).toBe(202);
    return response.body.runId as string;
  };
  const answer = (runId: string, value: unknown, key?: string, headers: Record<string, string> = ACME) =>
    api(server.url, `/runs/${runId}/input`, { body: { input: { approve: value } }, headers: { ...headers, ...(key ? { 'idempotency-key': key } : {}) } });

  it('runs a workflow end to end: start, stream, answer live, completion', async () => {
    await start();
    const started = await api(server.url, '/runs', { body: { workflow: 'approval', input: { topic: 'AI' }, runId: 'run-e2e' }, headers: ACME });
    expect(started).toMatchObject({ status: 202, body: { runId: 'run-e2e', status: 'active' } });
    const stream = await events('run-e2e');
    expect(stream.status).toBe(200);
    expect(stream.contentType).toContain('text/event-stream');
    const asked = await stream.waitFor((e) => e.type === 'approval_requested');
    expect(asked.data).toMatchObject({ nodePath: 'approve', prompt: 'Publish "Draft about AI"?', isResumed: false });
    expect((asked.data as { schema: unknown }).schema).toMatchObject({ type: 'object' });
    expect(await api(server.url, '/runs/run-e2e', { headers: ACME })).toMatchObject({
      status: 200,
      body: { runId: 'run-e2e', workflow: 'approval', status: 'pending_input', pendingInputs: [{ nodePath: 'approve' }] },
    });

    // Explicit resume of a run a worker holds is refused.
    expect(await api(server.url, '/runs/run-e2e/resume', { method: 'POST', headers: ACME })).toMatchObject({ status: 409, body: { error: { code: 'RUN_LOCKED' } } });
    expect(await answer('run-e2e', { ok: true, note: 'lgtm' })).toMatchObject({ status: 202, body: { accepted: true, runId: 'run-e2e' } });
    const done = await stream.waitFor((e) => e.type === 'run_completed');
    expect(done.data).toEqual({ output: 'published: Draft about AI (lgtm)' });
    const types = stream.envelopes.map((e) => e.type);
    for (const type of ['run_started', 'node_started', 'node_completed', 'stream_chunk', 'checkpoint_created', 'approval_received']) {
      expect(types).toContain(type);
    }
    expect(stream.envelopes.map((e) => e.seq)).toEqual(stream.envelopes.map((_, i) => i + 1));
    expect(stream.envelopes.find((e) => e.type === 'stream_chunk')).toMatchObject({ runId: 'run-e2e', nodeId: 'draft', data: { text: 'Draft about AI' } });
    expect(await api(server.url, '/runs/run-e2e', { headers: ACME })).toMatchObject({
      status: 200,
      body: { status: 'completed', output: 'published: Draft about AI (lgtm)', pendingInputs: [] },
    });
    expect(counters).toEqual({ draft: 1, slow: 0, publish: 1 });
  });

  it('checkpoints as pending_input after hitlTimeoutMs, lists it per tenant, and an answer resumes it (implicit resume)', async () => {
    await start({ hitlTimeoutMs: 0 });
    const runId = await startRun();
    const stream = await events(runId);
    await stream.waitFor((e) => e.type === 'run_paused');
    await until('the run to release its lease', () => (runtime.stats().runs === 0 ? true : undefined));

    const listed = await api(server.url, '/runs?status=pending_input', { headers: ACME });
    expect(listed.status).toBe(200);
    expect(listed.body.runs).toEqual([
      expect.objectContaining({ runId, workflow: 'approval', status: 'pending_input', pendingInputs: [expect.objectContaining({ nodePath: 'approve' })] }),
    ]);
    expect((await api(server.url, '/runs?status=pending_input', { headers: OTHER })).body.runs).toEqual([]);
    expect((await api(server.url, '/runs?workflow=approval&limit=5', { headers: ACME })).body.runs).toEqual([expect.objectContaining({ runId })]);
    expect((await api(server.url, `/runs/${runId}`, { headers: ACME })).body).toMatchObject({ status: 'pending_input' });

    expect(await answer(runId, { ok: false })).toMatchObject({ status: 202 });
    const done = await stream.waitFor((e) => e.type === 'run_completed');
    expect(done.data).toEqual({ output: 'rejected' });
    // The implicit resume finds the answer in the inbox: the question is not announced again before approval_received.
    const resumed = stream.envelopes.filter((e) => e.type === 'approval_requested').map((e) => (e.data as { isResumed: boolean }).isResumed);
    expect(resumed).toEqual([false]);
    const types = stream.envelopes.map((e) => e.type);
    expect(types.indexOf('approval_received')).toBeGreaterThan(types.indexOf('checkpoint_resumed'));
    expect(stream.envelopes.map((e) => e.type)).toContain('checkpoint_resumed');
    expect(counters).toEqual({ draft: 1, slow: 0, publish: 1 });
    expect((await api(server.url, '/runs?status=pending_input', { headers: ACME })).body.runs).toEqual([]);
    expect((await api(server.url, '/runs?status=completed', { headers: ACME })).body.runs).toEqual([expect.objectContaining({ runId, status: 'completed' })]);
  });

  it('scopes every route to the tenant: another tenant gets 404, no principal gets 401', async () => {
    await start();
    const runId = await startRun();
    for (const [method, path] of [
      ['GET', `/runs/${runId}`],
      ['GET', `/runs/${runId}/checkpoints`],
      ['GET', `/runs/${runId}/events`],
      ['POST', `/runs/${runId}/cancel`],
      ['POST', `/runs/${runId}/resume`],
    ] as const) {
      const response = await api(server.url, path, { method, headers: OTHER });
      expect({ path, status: response.status, code: response.body.error.code }).toEqual({ path, status: 404, code: 'NOT_FOUND' });
    }
    expect((await answer(runId, { ok: true }, undefined, OTHER)).status).toBe(404);
    const noAuth = await api(server.url, '/runs');
    expect(noAuth).toMatchObject({ status: 401, body: { error: { code: 'UNAUTHENTICATED' } } });
    expect((await api(server.url, '/runs/does-not-exist', { headers: ACME })).status).toBe(404);
    expect((await api(server.url, '/runs/bad%ZZid', { headers: ACME })).status).toBe(404);
  });

  it('refuses bad input with JSON errors and codes, never a stack trace', async () => {
    await start({ maxBodyBytes: 1024 });
    const runId = await startRun();
    const stream = await events(runId);
    await stream.waitFor((e) => e.type === 'approval_requested');
    const cases: Array<[string, Promise<{ status: number; body: any }>, number, string]> = [
      ['malformed JSON', api(server.url, '/runs', { raw: '{"workflow": ', headers: ACME }), 400, 'INVALID_ARGUMENT'],
      ['no body', api(server.url, '/runs', { method: 'POST', headers: ACME }), 400, 'INVALID_ARGUMENT'],
      ['wrong type', api(server.url, '/runs', { body: { workflow: 42 }, headers: ACME }), 400, 'INVALID_ARGUMENT'],
      ['unknown field', api(server.url, '/runs', { body: { workflow: 'approval', extra: 1 }, headers: ACME }), 400, 'INVALID_ARGUMENT'],
      ['unknown workflow', api(server.url, '/runs', { body: { workflow: 'nope' }, headers: ACME }), 400, 'INVALID_ARGUMENT'],
      ['unsafe runId', api(server.url, '/runs', { body: { workflow: 'approval', runId: '../etc' }, headers: ACME }), 400, 'INVALID_ARGUMENT'],
      ['existing runId', api(server.url, '/runs', { body: { workflow: 'approval', runId }, headers: ACME }), 409, 'CHECKPOINT_CONFLICT'],
      ['too large', api(server.url, '/runs', { body: { workflow: 'approval', input: 'x'.repeat(2048) }, headers: ACME }), 413, 'PAYLOAD_TOO_LARGE'],
      ['empty answers', api(server.url, `/runs/${runId}/input`, { body: { input: {} }, headers: ACME }), 400, 'INVALID_ARGUMENT'],
      ['bad idempotency key', answer(runId, { ok: true }, 'has spaces'), 400, 'INVALID_ARGUMENT'],
      ['answer failing the schema', answer(runId, { ok: 'yes' }), 422, 'INVALID_RESUME_INPUT'],
      ['answer for no input', api(server.url, `/runs/${runId}/input`, { body: { input: { draft: 1 } }, headers: ACME }), 422, 'INVALID_RESUME_INPUT'],
      ['bad list query', api(server.url, '/runs?limit=-3', { headers: ACME }), 400, 'INVALID_ARGUMENT'],
      ['bad after', api(server.url, `/runs/${runId}/events?after=x`, { headers: ACME }), 400, 'INVALID_ARGUMENT'],
      ['unknown route', api(server.url, '/nowhere', { headers: ACME }), 404, 'NOT_FOUND'],
      ['wrong method', api(server.url, `/runs/${runId}`, { method: 'PATCH', headers: ACME }), 405, 'METHOD_NOT_ALLOWED'],
    ];
    for (const [what, pending, status, code] of cases) {
      const response = await pending;
      expect({ what, status: response.status, code: response.body?.error?.code }).toEqual({ what, status, code });
      expect(JSON.stringify(response.body)).not.toMatch(/\bat .+\(.+:\d+:\d+\)/);
    }
    // A rejected answer changes nothing: the run still waits and completes with a valid one.
    expect((await api(server.url, `/runs/${runId}`, { headers: ACME })).body).toMatchObject({ status: 'pending_input', pendingInputs: [{ nodePath: 'approve' }] });
    expect(stream.envelopes.map((e) => e.type)).not.toContain('approval_received');
    await answer(runId, { ok: true });
    await stream.waitFor((e) => e.type === 'run_completed');
    expect(counters.publish).toBe(1);
    expect((await answer(runId, { ok: true })).status).toBe(409);
  });

  it('two devices posting the same Idempotency-Key get the first result and the node runs once', async () => {
    await start({ hitlTimeoutMs: 0 });
    const runId = await startRun();
    const stream = await events(runId);
    await stream.waitFor((e) => e.type === 'run_paused');
    await until('the lease to be released', () => (runtime.stats().runs === 0 ? true : undefined));
    const [phone, laptop] = await Promise.all([answer(runId, { ok: true }, 'answer-1'), answer(runId, { ok: true }, 'answer-1')]);
    expect(phone).toEqual(expect.objectContaining({ status: 202, body: { accepted: true, runId } }));
    expect(laptop.body).toEqual(phone.body);
    await stream.waitFor((e) => e.type === 'run_completed');
    // A retry after completion still gets the first answer, not a 409.
    expect(await answer(runId, { ok: true }, 'answer-1')).toMatchObject({ status: 202, body: { accepted: true } });
    await runtime.close();
    expect(counters.publish).toBe(1);
    expect(stream.envelopes.filter((e) => e.type === 'approval_received')).toHaveLength(1);
  });

  it('replays what a client missed after a disconnect (Last-Event-ID and ?after=), and serves NDJSON', async () => {
    await start({ hitlTimeoutMs: 0 });
    const runId = await startRun();
    const first = await events(runId);
    const paused = await first.waitFor((e) => e.type === 'run_paused');
    first.close();
    await until('the stream to be released', () => (runtime.stats().streams === 0 ? true : undefined));

    await answer(runId, { ok: true });
    const again = await events(runId, { lastEventId: paused.seq });
    const done = await again.waitFor((e) => e.type === 'run_completed');
    expect(again.envelopes[0]!.seq).toBe(paused.seq + 1);
    expect(again.envelopes.at(-1)).toEqual(done);

    const fromQuery = await events(`${runId}`, {});
    await fromQuery.waitFor((e) => e.type === 'run_completed');
    const replayedAfter = await openStream(`${server.url}/runs/${runId}/events?after=${paused.seq}`, { headers: ACME });
    streams.push(replayedAfter);
    await replayedAfter.waitFor((e) => e.type === 'run_completed');
    expect(replayedAfter.envelopes.map((e) => e.seq)).toEqual(again.envelopes.map((e) => e.seq));
    expect(fromQuery.envelopes.slice(paused.seq)).toEqual(again.envelopes);

    const ndjson = await events(runId, { ndjson: true });
    expect(ndjson.contentType).toContain('application/x-ndjson');
    await ndjson.waitFor((e) => e.type === 'run_completed');
    expect(ndjson.envelopes).toEqual(fromQuery.envelopes);
  });

  it('sends heartbeats on idle streams and releases a stream when its client disconnects', async () => {
    await start({ hitlTimeoutMs: 0, heartbeatMs: 10 });
    const runId = await startRun();
    const sse = await events(runId);
    const ndjson = await events(runId, { ndjson: true });
    await sse.waitFor((e) => e.type === 'run_paused');
    await until('SSE heartbeats', () => (sse.heartbeats >= 2 ? true : undefined));
    await until('NDJSON heartbeats', () => (ndjson.heartbeats >= 2 ? true : undefined));
    expect(runtime.stats().streams).toBe(2);
    sse.close();
    ndjson.close();
    await until('both streams to be released', () => (runtime.stats().streams === 0 ? true : undefined));
  });

  it('speaks WebSocket: subscribe from a seq, answer with an ack, errors as messages', async () => {
    await start();
    const runId = await startRun();
    const ws = new WebSocket(`${server.wsUrl}?tenant=acme`);
    sockets.push(ws);
    const received: any[] = [];
    ws.on('message', (data) => received.push(JSON.parse(String(data))));
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const next = (predicate: (m: any) => boolean) => until('a WebSocket message', () => received.find(predicate));

    ws.send('not json');
    expect(await next((m) => m.type === 'error')).toMatchObject({ code: 'INVALID_ARGUMENT' });
    ws.send(JSON.stringify({ type: 'subscribe', runId: 'someone-elses' }));
    expect(await next((m) => m.type === 'error' && m.runId === 'someone-elses')).toMatchObject({ code: 'NOT_FOUND' });

    ws.send(JSON.stringify({ type: 'subscribe', runId, after: 0 }));
    const asked: EventEnvelope = await next((m) => m.type === 'approval_requested');
    expect(asked).toMatchObject({ runId, data: { nodePath: 'approve' } });
    ws.send(JSON.stringify({ type: 'input', runId, input: { approve: { ok: 'no' } } }));
    expect(await next((m) => m.type === 'error' && m.code === 'INVALID_RESUME_INPUT')).toMatchObject({ runId });
    ws.send(JSON.stringify({ type: 'input', runId, input: { approve: { ok: true } }, idempotencyKey: 'ws-1' }));
    expect(await next((m) => m.type === 'ack')).toEqual({ type: 'ack', runId, idempotencyKey: 'ws-1' });
    const done = await next((m) => m.type === 'run_completed');
    expect(done.data).toEqual({ output: 'published: Draft about AI' });
    const seqs = received.filter((m) => typeof m.seq === 'number').map((m) => m.seq);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));

    // A second subscription from a later seq replays only what follows it; unsubscribe stops it.
    const before = received.length;
    ws.send(JSON.stringify({ type: 'subscribe', runId, after: done.seq - 1 }));
    const replayed = await next((m) => m.seq === done.seq && received.indexOf(m) >= before);
    expect(replayed.type).toBe('run_completed');
    ws.send(JSON.stringify({ type: 'unsubscribe', runId }));
    await until('the subscription to be released', () => (runtime.stats().streams === 0 ? true : undefined));
    expect(runtime.stats().sockets).toBe(1);
    ws.close();
    await until('the socket to be released', () => (runtime.stats().sockets === 0 ? true : undefined));
  });

  it('refuses a WebSocket upgrade without a principal', async () => {
    await start();
    const ws = new WebSocket(server.wsUrl);
    ws.on('error', () => undefined);
    const status = await new Promise<number>((resolve) => ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
    expect(status).toBe(401);
  });

  it('lists and returns checkpoints, scoped to the run and tenant', async () => {
    await start({ hitlTimeoutMs: 0 });
    const runId = await startRun();
    const other = await startRun();
    const stream = await events(runId);
    await stream.waitFor((e) => e.type === 'run_paused');
    const list = await api(server.url, `/runs/${runId}/checkpoints`, { headers: ACME });
    expect(list.status).toBe(200);
    const seqs = list.body.checkpoints.map((c: { seq: number }) => c.seq);
    expect(seqs).toEqual([...seqs].sort((a: number, b: number) => b - a));
    expect(list.body.checkpoints[0]).toMatchObject({ runId, status: 'pending_input' });
    const head = list.body.checkpoints[0].id as string;
    const one = await api(server.url, `/runs/${runId}/checkpoints/${head}`, { headers: ACME });
    expect(one.body).toMatchObject({ id: head, runId, status: 'pending_input', originalInput: { topic: 'AI' }, tenantId: 'acme' });
    expect(typeof one.body.createdAt).toBe('string');
    expect((await api(server.url, `/runs/${other}/checkpoints/${head}`, { headers: ACME })).status).toBe(404);
    expect((await api(server.url, `/runs/${runId}/checkpoints/${head}`, { headers: OTHER })).status).toBe(404);
    expect((await api(server.url, `/runs/${runId}/checkpoints/nope`, { headers: ACME })).status).toBe(404);
    // a runId the client chose is stored under its tenant's prefix, which no answer shows
    const chosen = await startRun({ workflow: 'approval', input: { topic: 'AI' }, runId: 'chosen-cp' });
    const missing = { code: 'NOT_FOUND', message: 'Checkpoint nope of run chosen-cp was not found.' };
    expect((await api(server.url, `/runs/${chosen}/checkpoints/nope`, { headers: ACME })).body.error).toEqual(missing);
    expect((await api(server.url, `/runs/${chosen}/resume`, { body: { checkpointId: 'nope' }, headers: ACME })).body.error).toEqual(missing);
    expect((await api(server.url, `/runs/${runId}/checkpoints?limit=1`, { headers: ACME })).body.checkpoints).toHaveLength(1);
  });

  it('resumes explicitly with an answer and forks from an older checkpoint', async () => {
    await start({ hitlTimeoutMs: 0 });
    const runId = await startRun();
    const stream = await events(runId);
    await stream.waitFor((e) => e.type === 'run_paused');
    await until('the lease to be released', () => (runtime.stats().runs === 0 ? true : undefined));
    expect((await api(server.url, `/runs/${runId}/resume`, { body: { input: { approve: { ok: 1 } } }, headers: ACME })).status).toBe(422);
    const resumed = await api(server.url, `/runs/${runId}/resume`, { body: { input: { approve: { ok: true } } }, headers: ACME });
    expect(resumed).toMatchObject({ status: 202, body: { runId } });
    await stream.waitFor((e) => e.type === 'run_completed');

    const checkpoints = (await api(server.url, `/runs/${runId}/checkpoints`, { headers: ACME })).body.checkpoints as Array<{ id: string; status: string }>;
    const paused = checkpoints.find((c) => c.status === 'pending_input')!;
    const fork = await api(server.url, `/runs/${runId}/resume`, { body: { checkpointId: paused.id, input: { approve: { ok: false } } }, headers: ACME });
    expect(fork.status).toBe(202);
    expect(fork.body.runId).not.toBe(runId);
    const forkStream = await events(fork.body.runId);
    expect((await forkStream.waitFor((e) => e.type === 'run_completed')).data).toEqual({ output: 'rejected' });
    expect((await api(server.url, `/runs/${runId}`, { headers: ACME })).body.output).toBe('published: Draft about AI');
  });

  it('a fork is visible at once: GET, its event stream and a WebSocket subscription find it while its first node runs', async () => {
    // `slow` waits while `hold` is set: the fork is kept in its first node for as long as the test looks at it.
    let hold: Promise<void> | undefined;
    let release!: () => void;
    await start({ hitlTimeoutMs: 0 }, { hang: false, gate: () => hold ?? Promise.resolve() });
    const runId = await startRun();
    await (await events(runId)).waitFor((e) => e.type === 'run_paused');
    await until('the lease to be released', () => (runtime.stats().runs === 0 ? true : undefined));
    // The checkpoint after `draft`, before `slow`: a fork from it starts with `slow`.
    const summaries = (await api(server.url, `/runs/${runId}/checkpoints`, { headers: ACME })).body.checkpoints as Array<{ id: string }>;
    const loaded = await Promise.all(summaries.map(async (c) => (await api(server.url, `/runs/${runId}/checkpoints/${c.id}`, { headers: ACME })).body));
    const origin = loaded.find((c) => c.nodeStates.draft?.status === 'success' && c.nodeStates.slow?.status !== 'success');
    expect(origin).toBeDefined();

    hold = new Promise<void>((resolve) => (release = resolve));
    const fork = await api(server.url, `/runs/${runId}/resume`, { body: { checkpointId: origin.id }, headers: ACME });
    expect(fork.status).toBe(202);
    const forkId = fork.body.runId as string;
    expect(forkId).not.toBe(runId);
    await until('the fork to enter `slow`', () => (counters.slow === 2 ? true : undefined));

    // Still in its first node, and already a run every route knows, with its own first checkpoint.
    expect(await api(server.url, `/runs/${forkId}`, { headers: ACME })).toMatchObject({ status: 200, body: { runId: forkId, status: 'active', pendingInputs: [] } });
    const forkCheckpoints = (await api(server.url, `/runs/${forkId}/checkpoints`, { headers: ACME })).body.checkpoints as Array<{ id: string }>;
    expect(forkCheckpoints).toHaveLength(1);
    expect((await api(server.url, `/runs/${forkId}/checkpoints/${forkCheckpoints[0]!.id}`, { headers: ACME })).body).toMatchObject({
      runId: forkId,
      parentCheckpointId: origin.id,
      status: 'active',
    });
    const forkStream = await events(forkId);
    expect(forkStream.status).toBe(200);
    expect((await forkStream.waitFor((e) => e.type === 'checkpoint_resumed')).data).toMatchObject({ checkpointId: origin.id, forkedFrom: origin.id });
    const ws = new WebSocket(`${server.wsUrl}?tenant=acme`);
    sockets.push(ws);
    const received: any[] = [];
    ws.on('message', (data) => received.push(JSON.parse(String(data))));
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    ws.send(JSON.stringify({ type: 'subscribe', runId: forkId }));
    expect(await until('the fork on the WebSocket', () => received.find((m) => m.runId === forkId))).toMatchObject({ type: 'checkpoint_resumed' });
    expect(received.filter((m) => m.type === 'error')).toEqual([]);
    expect(counters.slow).toBe(2);

    release();
    hold = undefined;
    expect((await forkStream.waitFor((e) => e.type === 'run_paused')).data).toMatchObject({ pendingInputs: [expect.objectContaining({ nodePath: 'approve' })] });
    expect((await api(server.url, `/runs/${runId}`, { headers: ACME })).body.status).toBe('pending_input');
  });

  it('cancels a run waiting live here and a paused run nobody holds', async () => {
    await start();
    const live = await startRun();
    const liveStream = await events(live);
    await liveStream.waitFor((e) => e.type === 'approval_requested');
    expect(await api(server.url, `/runs/${live}/cancel`, { method: 'POST', headers: ACME })).toMatchObject({ status: 202, body: { runId: live, status: 'canceled' } });
    await liveStream.waitFor((e) => e.type === 'run_canceled');
    expect((await api(server.url, `/runs/${live}`, { headers: ACME })).body.status).toBe('canceled');
    expect(await api(server.url, `/runs/${live}/cancel`, { method: 'POST', headers: ACME })).toMatchObject({ body: { status: 'canceled' } });
    expect((await answer(live, { ok: true })).status).toBe(409);
    await server.close();

    await start({ hitlTimeoutMs: 0 });
    const paused = await startRun();
    const stream = await events(paused);
    await stream.waitFor((e) => e.type === 'run_paused');
    await until('the lease to be released', () => (runtime.stats().runs === 0 ? true : undefined));
    expect(await api(server.url, `/runs/${paused}/cancel`, { method: 'POST', headers: ACME })).toMatchObject({ status: 202, body: { status: 'canceled' } });
    expect((await stream.waitFor((e) => e.type === 'run_canceled')).data).toEqual({ by: 'acme-user' });
    expect((await api(server.url, `/runs/${paused}`, { headers: ACME })).body).toMatchObject({ status: 'canceled', pendingInputs: [] });
    expect(counters.publish).toBe(0);
  });
});
