// DELETE /runs/:id (issue #12 §3): cancels a run that is still going, wherever it runs, then deletes its checkpoints
// and blobs. Two runtimes on one storage stand for two processes: on a MemoryAdapter they share (notified in
// process), and on two SqliteBackend instances over one file (they poll).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import { SqliteBackend } from '@savepoint/backend-sqlite';
import { MemoryAdapter, type StorageAdapter } from '@savepoint/core';
import { createRuntime, type Runtime, type RuntimeOptions } from '../src/index.js';
import { scopedRunId } from '../src/run-ids.js';
import { until } from './support/api.js';
import { approvalWorkflow, type ApprovalOptions } from './support/approval-workflow.js';

const dir = mkdtempSync(join(tmpdir(), 'savepoint-delete-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Two adapters over one storage, as two processes would open it. */
const storages: Array<[string, () => [StorageAdapter, StorageAdapter]]> = [
  ['MemoryAdapter', () => ((memory) => [memory, memory] as [StorageAdapter, StorageAdapter])(new MemoryAdapter())],
  [
    'SQLite',
    () => {
      const path = join(dir, `${Math.random().toString(36).slice(2)}.db`);
      return [new SqliteBackend({ path }), new SqliteBackend({ path })];
    },
  ],
];
const auth: RuntimeOptions['auth'] = (request) => ({ tenantId: request.headers.get('x-tenant') ?? 'acme', userId: 'ada' });

describe.each(storages)('DELETE /runs/:id (%s)', (_name, open) => {
  const runtimes: Runtime[] = [];
  const adapters = new Set<StorageAdapter>();
  afterEach(async () => {
    await Promise.all(runtimes.splice(0).map((runtime) => runtime.close()));
    for (const adapter of adapters) await adapter.close?.();
    adapters.clear();
  });

  /** Runtime A and runtime B over one storage. */
  function pair(a: Partial<RuntimeOptions> = {}, slow?: ApprovalOptions['slow']) {
    const [first, second] = open();
    const make = (backend: StorageAdapter, options: Partial<RuntimeOptions>, slowNode?: ApprovalOptions['slow']) => {
      adapters.add(backend);
      const { workflow, counters } = approvalWorkflow({ backend, ...(slowNode ? { slow: slowNode } : {}) });
      const runtime = createRuntime({ workflows: { approval: workflow }, backend, auth, reaper: false, pollIntervalMs: 10, hitlTimeoutMs: 0, onError: () => undefined, ...options });
      runtimes.push(runtime);
      return { runtime, counters, backend };
    };
    return { a: make(first, a, slow), b: make(second, {}, slow ? { hang: false } : undefined) };
  }

  const call = async (runtime: Runtime, method: string, path: string, { body, tenant = 'acme' }: { body?: unknown; tenant?: string } = {}) => {
    const init: RequestInit = { method, headers: { 'content-type': 'application/json', 'x-tenant': tenant } };
    if (body !== undefined) init.body = JSON.stringify(body);
    const response = await runtime.handler(new Request(`http://runtime${path}`, init));
    return { status: response.status, body: (await response.json()) as any };
  };
  const start = async (runtime: Runtime, runId?: string) => {
    const started = await call(runtime, 'POST', '/runs', { body: { workflow: 'approval', input: { topic: 'AI' }, ...(runId ? { runId } : {}) } });
    expect(started.status).toBe(202);
    return started.body.runId as string;
  };
  const statusOf = async (runtime: Runtime, runId: string) => (await call(runtime, 'GET', `/runs/${runId}`)).body.status as string | undefined;
  const reach = (runtime: Runtime, runId: string, status: string) => until(`run ${runId} to be ${status}`, async () => ((await statusOf(runtime, runId)) === status ? true : undefined));
  /** What storage still holds of the run: checkpoints, blobs (a blob sweep finds none left) and events. */
  const stored = async (backend: StorageAdapter, runId: string) => ({
    checkpoints: (await backend.queryHeaders({ runId })).length,
    blobs: await backend.deleteBlobsExcept(runId, new Set()),
    events: (await backend.readEvents!(runId, 0)).map((e) => e.type),
  });

  it('deletes a completed run: its checkpoints and blobs; GET and its checkpoints answer 404; its id is not given out again', async () => {
    const { a } = pair();
    const runId = await start(a.runtime, 'invoice-7');
    await reach(a.runtime, runId, 'pending_input');
    expect((await call(a.runtime, 'POST', `/runs/${runId}/input`, { body: { input: { approve: { ok: true } } } })).status).toBe(202);
    await reach(a.runtime, runId, 'completed');
    const storedId = scopedRunId('acme', runId);
    const checkpoints = (await a.backend.queryHeaders({ runId: storedId })).length;
    expect(checkpoints).toBeGreaterThan(2);

    expect(await call(a.runtime, 'DELETE', `/runs/${runId}`)).toEqual({ status: 200, body: { runId, deleted: true, canceled: false, deletedCheckpoints: checkpoints } });
    const left = await stored(a.backend, storedId);
    expect({ checkpoints: left.checkpoints, blobs: left.blobs }).toEqual({ checkpoints: 0, blobs: 0 });
    // The event log has no delete in the adapter API: it stays, unreachable, and its run id may not start a new run.
    expect(left.events).toContain('run_completed');
    for (const path of [`/runs/${runId}`, `/runs/${runId}/checkpoints`, `/runs/${runId}/events`]) expect((await call(a.runtime, 'GET', path)).status).toBe(404);
    expect(await call(a.runtime, 'DELETE', `/runs/${runId}`)).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND' } } });
    expect(await call(a.runtime, 'POST', '/runs', { body: { workflow: 'approval', input: { topic: 'again' }, runId } })).toMatchObject({
      status: 409,
      body: { error: { code: 'CHECKPOINT_CONFLICT', message: expect.stringContaining('belonged to a run that was deleted') } },
    });
    expect((await call(a.runtime, 'GET', '/runs')).body).toEqual({ runs: [], nextCursor: null });
  });

  it('cancels and deletes a run waiting for input that nobody holds; followers hear run_canceled', async () => {
    const { a } = pair();
    const runId = await start(a.runtime);
    await reach(a.runtime, runId, 'pending_input');
    const deleted = await call(a.runtime, 'DELETE', `/runs/${runId}`);
    expect(deleted).toMatchObject({ status: 200, body: { runId, deleted: true, canceled: true, deletedCheckpoints: expect.any(Number) } });
    await until('the cancel event to be stored', async () => ((await stored(a.backend, runId)).events.includes('run_canceled') ? true : undefined));
    expect(await stored(a.backend, runId)).toMatchObject({ checkpoints: 0, blobs: 0 });
    expect(await statusOf(a.runtime, runId)).toBeUndefined();
  });

  it('stops a run that another runtime holds (waiting live there) through a cancel request, then deletes it', async () => {
    const { a, b } = pair({ hitlTimeoutMs: 60_000 });
    const runId = await start(a.runtime);
    await until('A to wait live for the answer', async () => ((await call(b.runtime, 'GET', `/runs/${runId}`)).body.pendingInputs?.length ? true : undefined));
    expect(a.runtime.stats().runs).toBe(1);

    expect(await call(b.runtime, 'DELETE', `/runs/${runId}`)).toMatchObject({ status: 200, body: { runId, deleted: true, canceled: true } });
    // A canceled its execution (it took the request from the inbox) and let go of the run before B deleted it.
    await until('A to drop the run', () => (a.runtime.stats().runs === 0 ? true : undefined));
    expect(await stored(a.backend, runId)).toMatchObject({ checkpoints: 0, blobs: 0 });
    for (const runtime of [a.runtime, b.runtime]) expect((await call(runtime, 'GET', `/runs/${runId}`)).status).toBe(404);
    expect(a.counters.publish + b.counters.publish).toBe(0);
  });

  it('answers 409 RUN_LOCKED, deleting nothing, while the runtime holding the run is busy in a node; a later DELETE succeeds', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { a, b } = pair({ hitlTimeoutMs: 60_000 }, { hang: false, gate: () => gate });
    const bounded = createRuntime({ workflows: { approval: approvalWorkflow({ backend: b.backend, slow: { hang: false } }).workflow }, backend: b.backend, auth, reaper: false, pollIntervalMs: 10, deleteTimeoutMs: 0 });
    runtimes.push(bounded);
    const runId = await start(a.runtime);
    await until('A to be inside the slow node', () => (a.counters.slow === 1 ? true : undefined));

    const refused = await call(bounded, 'DELETE', `/runs/${runId}`);
    expect(refused).toMatchObject({ status: 409, body: { error: { code: 'RUN_LOCKED', message: expect.stringMatching(/held by another process.*cancel was requested.*Retry/s) } } });
    expect(await statusOf(b.runtime, runId)).toBe('active');
    expect((await b.backend.queryHeaders({ runId })).length).toBeGreaterThan(0);

    // The node finishes; the run asks its question, reads the cancel request and stops.
    release();
    await reach(b.runtime, runId, 'canceled');
    expect(await call(bounded, 'DELETE', `/runs/${runId}`)).toMatchObject({ status: 200, body: { deleted: true, canceled: false } });
    expect(await stored(b.backend, runId)).toMatchObject({ checkpoints: 0, blobs: 0 });
  });

  it("another tenant's run is a 404 and nothing of it is deleted", async () => {
    const { a, b } = pair();
    const runId = await start(a.runtime);
    await reach(a.runtime, runId, 'pending_input');
    const before = (await a.backend.queryHeaders({ runId })).length;
    const foreign = await call(b.runtime, 'DELETE', `/runs/${runId}`, { tenant: 'globex' });
    const missing = await call(b.runtime, 'DELETE', '/runs/no-such-run', { tenant: 'globex' });
    expect(foreign.status).toBe(404);
    expect(JSON.stringify(foreign.body).replaceAll(runId, 'ID')).toBe(JSON.stringify(missing.body).replaceAll('no-such-run', 'ID'));
    expect((await a.backend.queryHeaders({ runId })).length).toBe(before);
    expect(await statusOf(a.runtime, runId)).toBe('pending_input');
  });
});
