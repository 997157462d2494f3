import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import { SqliteBackend } from '@savepoint/backend-sqlite';
import WebSocket from 'ws';
import { createRuntime, type AuthorizeHook, type RunAccess, type RunAction, type RuntimeOptions } from '../src/index.js';
import { api, until } from './support/api.js';
import { approvalWorkflow } from './support/approval-workflow.js';
import { serve, type TestServer } from './support/http-server.js';
import { dumpRaw } from './support/raw-storage.js';
import { openStream } from './support/sse-client.js';

// Scoping below the tenant (issue 9 §4): runs record who started them, and an `authorize` hook narrows what each
// user may do. A run a user may not read is a 404 indistinguishable from a missing one (HTTP, SSE, WebSocket); an
// action refused on a run it may read is a 403 FORBIDDEN; listings show only readable runs; `?mine=true` only the
// caller's. Who started a run is stored in its (sealed) checkpoint metadata, so every process sees it.
const dir = mkdtempSync(join(tmpdir(), 'savepoint-authorize-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Everyone is in tenant `acme`; the user comes from `x-user` (or `?user=` on WebSocket URLs). */
const auth: RuntimeOptions['auth'] = (request) => {
  const userId = request.headers.get('x-user') ?? new URL(request.url).searchParams.get('user');
  return userId ? { tenantId: 'acme', userId } : null;
};
/** Users see and act on their own runs; `admin` reads and cancels every run but answers none; `guest` starts nothing. */
const decisions: Array<{ userId: string; action: RunAction; run: RunAccess }> = [];
const authorize: AuthorizeHook = async ({ userId }, run, action) => {
  decisions.push({ userId, action, run });
  if (action === 'start') return userId !== 'guest';
  if (userId === 'admin') return action === 'read' || action === 'cancel';
  return run.startedBy === userId;
};
const as = (userId: string) => ({ 'x-user': userId });
const KEY = randomBytes(32);

describe('authorize: runs scoped to the user who started them (SQLite, two processes)', () => {
  const servers: TestServer[] = [];
  const backends: SqliteBackend[] = [];
  const sockets: WebSocket[] = [];

  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.terminate();
    for (const server of servers.splice(0)) await server.close();
    for (const backend of backends.splice(0)) await backend.close();
    decisions.length = 0;
  });

  async function startProcess(file: string): Promise<string> {
    const backend = new SqliteBackend({ path: join(dir, file) });
    backends.push(backend);
    // Encrypted: who started a run is sealed with the rest of the checkpoint.
    const { workflow } = approvalWorkflow({ backend, checkpoint: { encryption: { keys: [{ id: 'k1', key: KEY }] } } });
    const server = await serve(createRuntime({ workflows: { approval: workflow }, backend, auth, authorize, hitlTimeoutMs: 0, reaper: false, pollIntervalMs: 20 }));
    servers.push(server);
    return server.url;
  }
  async function startRun(url: string, userId: string): Promise<string> {
    const started = await api(url, '/runs', { body: { workflow: 'approval', input: { topic: 'AI' } }, headers: as(userId) });
    expect(started.status).toBe(202);
    const runId = started.body.runId as string;
    await until('the question to be stored', async () => ((await api(url, `/runs/${runId}`, { headers: as(userId) })).body.pendingInputs?.length ? true : undefined));
    return runId;
  }
  async function socket(url: string, userId: string) {
    const ws = new WebSocket(`${url.replace('http', 'ws')}/ws?user=${userId}`);
    sockets.push(ws);
    const messages: any[] = [];
    ws.on('message', (data) => messages.push(JSON.parse(String(data))));
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    return {
      send: (message: unknown) => ws.send(JSON.stringify(message)),
      /** The n-th error message received. */
      error: (n: number) => until(`WebSocket error ${n}`, () => messages.filter((m) => m.type === 'error')[n - 1]),
    };
  }

  it("another user's run is a 404 like a missing run, on every route, over SSE and over WebSocket", async () => {
    const url = await startProcess('not-found.db');
    const runId = await startRun(url, 'alice');
    const routes: Array<[string, string, unknown?]> = [
      ['GET', '/runs/:id'],
      ['GET', '/runs/:id/checkpoints'],
      ['POST', '/runs/:id/input', { input: { approve: { ok: true } } }],
      ['POST', '/runs/:id/resume', {}],
      ['POST', '/runs/:id/cancel', {}],
      ['DELETE', '/runs/:id'],
    ];
    for (const [method, path, body] of routes) {
      const call = (id: string) => api(url, path.replace(':id', id), { method, ...(body === undefined ? {} : { body }), headers: as('bob') });
      const [theirs, missing] = [await call(runId), await call('no-such-run')];
      expect(theirs.status).toBe(404);
      // Indistinguishable: the same status, code and message, with only the id differing.
      expect(JSON.stringify(theirs.body).replaceAll(runId, 'ID')).toBe(JSON.stringify(missing.body).replaceAll('no-such-run', 'ID'));
    }
    expect((await openStream(`${url}/runs/${runId}/events`, { headers: as('bob') })).status).toBe(404);
    const ws = await socket(url, 'bob');
    ws.send({ type: 'subscribe', runId });
    expect(await ws.error(1)).toMatchObject({ code: 'NOT_FOUND', runId });
    ws.send({ type: 'input', runId, input: { approve: { ok: true } }, idempotencyKey: 'bob-1' });
    expect(await ws.error(2)).toMatchObject({ code: 'NOT_FOUND', runId });

    // Nothing of bob's attempts reached the run.
    expect((await api(url, `/runs/${runId}`, { headers: as('alice') })).body).toMatchObject({ status: 'pending_input' });
    expect(decisions.filter((d) => d.userId === 'bob').map((d) => d.action)).not.toContain('answer');
  });

  it('a run the user may read but not act on is a 403 FORBIDDEN over HTTP and WebSocket; an allowed action goes through', async () => {
    const url = await startProcess('forbidden.db');
    const runId = await startRun(url, 'alice');
    expect((await api(url, `/runs/${runId}`, { headers: as('admin') })).status).toBe(200);
    const stream = await openStream(`${url}/runs/${runId}/events`, { headers: as('admin') });
    expect(stream.status).toBe(200);
    await stream.waitFor((e) => e.type === 'approval_requested');
    stream.close();

    const answer = await api(url, `/runs/${runId}/input`, { body: { input: { approve: { ok: true } } }, headers: as('admin') });
    expect(answer).toMatchObject({ status: 403, body: { error: { code: 'FORBIDDEN', message: expect.stringContaining(`may not answer run ${runId}`) } } });
    expect((await api(url, `/runs/${runId}/resume`, { method: 'POST', body: {}, headers: as('admin') })).body.error.code).toBe('FORBIDDEN');
    const ws = await socket(url, 'admin');
    ws.send({ type: 'input', runId, input: { approve: { ok: true } }, idempotencyKey: 'admin-1' });
    expect(await ws.error(1)).toMatchObject({ code: 'FORBIDDEN', runId });
    expect((await api(url, `/runs/${runId}`, { headers: as('alice') })).body).toMatchObject({ status: 'pending_input' });

    expect(await api(url, '/runs', { body: { workflow: 'approval', input: { topic: 'x' } }, headers: as('guest') })).toMatchObject({
      status: 403,
      body: { error: { code: 'FORBIDDEN' } },
    });
    expect(await api(url, `/runs/${runId}`, { method: 'DELETE', headers: as('admin') })).toMatchObject({
      status: 403,
      body: { error: { code: 'FORBIDDEN', message: expect.stringContaining(`may not delete run ${runId}`) } },
    });
    expect((await api(url, `/runs/${runId}/cancel`, { method: 'POST', body: {}, headers: as('admin') })).body).toMatchObject({ status: 'canceled' });
    // The hook saw who started the run.
    expect(decisions.find((d) => d.userId === 'admin' && d.action === 'cancel')!.run).toEqual({ runId, workflow: 'approval', tenantId: 'acme', startedBy: 'alice' });
  });

  it('lists only readable runs, ?mine=true only the caller’s; another process sees who started each run; the name is sealed', async () => {
    const a = await startProcess('lists.db');
    const b = await startProcess('lists.db');
    const alices = [await startRun(a, 'alice'), await startRun(b, 'alice')];
    const bobs = await startRun(a, 'bob');
    const adminOwn = await startRun(b, 'admin');
    const ids = async (url: string, userId: string, query = '') =>
      ((await api(url, `/runs${query}`, { headers: as(userId) })).body.runs as Array<{ runId: string }>).map((r) => r.runId).sort();

    for (const url of [a, b]) {
      expect(await ids(url, 'alice')).toEqual([...alices].sort());
      expect(await ids(url, 'alice', '?status=pending_input')).toEqual([...alices].sort());
      expect(await ids(url, 'bob', '?status=pending_input&mine=true')).toEqual([bobs]);
      expect(await ids(url, 'admin')).toEqual([...alices, bobs, adminOwn].sort());
      expect(await ids(url, 'admin', '?mine=true')).toEqual([adminOwn]);
      expect(await ids(url, 'admin', '?status=pending_input&mine=true&limit=1')).toEqual([adminOwn]);
      expect(await ids(url, 'admin', '?mine=false')).toEqual([...alices, bobs, adminOwn].sort());
    }
    expect((await api(a, '/runs?mine=yes', { headers: as('alice') })).status).toBe(400);
    // B reads alice's run started on A with the same answer as A.
    expect((await api(b, `/runs/${alices[0]}`, { headers: as('alice') })).status).toBe(200);
    expect((await api(b, `/runs/${alices[0]}`, { headers: as('bob') })).status).toBe(404);
    // Encrypted checkpoint metadata: the starting user's id is nowhere in the database file in plain text.
    const raw = await dumpRaw({ kind: 'sqlite', path: join(dir, 'lists.db') });
    expect(raw).toContain(alices[0]);
    expect(raw).not.toContain('alice');
  });
});
