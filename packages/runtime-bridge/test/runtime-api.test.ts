import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { MemoryAdapter, type StorageAdapter } from '@savepoint/core';
import { createRuntime, type Runtime, type RuntimeOptions } from '../src/index.js';
import { toJson } from '../src/json.js';
import { scopedRunId } from '../src/run-ids.js';
import { api, until } from './support/api.js';
import { approvalWorkflow } from './support/approval-workflow.js';

// The runtime without a server of its own: the Web-standard handler as Hono/Bun/Deno call it, the
// Node handler as Express middleware, option checks, shutdown, and the JSON it writes.
const post = (url: string, body: unknown) =>
  new Request(url, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });

describe('createRuntime', () => {
  const runtimes: Runtime[] = [];
  const make = (options: Partial<RuntimeOptions> = {}, backend: StorageAdapter = new MemoryAdapter()) => {
    const { workflow, counters } = approvalWorkflow({ backend });
    const runtime = createRuntime({ workflows: { approval: workflow }, backend, reaper: false, pollIntervalMs: 10, ...options });
    runtimes.push(runtime);
    return { runtime, counters, backend, workflow };
  };
  afterEach(async () => {
    await Promise.all(runtimes.splice(0).map((runtime) => runtime.close()));
  });

  it('refuses options it cannot work with', () => {
    const backend = new MemoryAdapter();
    const { workflow } = approvalWorkflow({ backend });
    expect(() => createRuntime({ workflows: {}, backend })).toThrow(/at least one workflow/);
    expect(() => createRuntime({ workflows: { a: workflow }, backend: new MemoryAdapter() })).toThrow(/another backend/);
    expect(() => createRuntime({ workflows: { a: workflow, b: workflow }, backend })).toThrow(/share the id/);
    expect(() => createRuntime({ workflows: { a: workflow }, backend, hitlTimeoutMs: -1 })).toThrow(/invalid options/);
    expect(() => createRuntime({ workflows: { a: workflow }, backend, basePath: 'api/' })).toThrow(/invalid options/);
    const { events, ...noEvents } = { ...backend.capabilities };
    const limited = Object.assign(Object.create(backend) as MemoryAdapter, { capabilities: { ...noEvents, events: false } });
    expect(() => createRuntime({ workflows: { a: workflow }, backend: limited })).toThrow(/event log and input inbox/);
    const off = approvalWorkflow({ backend }).workflow;
    Object.defineProperty(off, 'store', { value: null });
    expect(() => createRuntime({ workflows: { a: off }, backend })).toThrow(/checkpointing off/);
  });

  it('serves the Web-standard handler directly (Hono, Bun, Deno), under a basePath', async () => {
    const { runtime } = make({ basePath: '/api', hitlTimeoutMs: 0 });
    const postApi = (path: string, body: unknown) => runtime.handler(post(`http://app.test/api${path}`, body));
    const started = await postApi('/runs', { workflow: 'approval', input: { topic: 'hono' } });
    expect(started.status).toBe(202);
    const { runId } = (await started.json()) as { runId: string };
    await until('the run to pause', async () => {
      const view = (await (await runtime.handler(new Request(`http://app.test/api/runs/${runId}`))).json()) as { status: string };
      return view.status === 'pending_input' ? true : undefined;
    });
    expect((await postApi(`/runs/${runId}/input`, { input: { approve: { ok: true } } })).status).toBe(202);
    await until('the run to complete', async () => {
      const view = (await (await runtime.handler(new Request(`http://app.test/api/runs/${runId}/`))).json()) as { status: string; output?: string };
      return view.status === 'completed' ? view.output : undefined;
    });
    expect((await runtime.handler(new Request('http://app.test/runs'))).status).toBe(404);
    const events = await runtime.handler(new Request(`http://app.test/api/runs/${runId}/events`, { headers: { accept: 'application/x-ndjson' } }));
    const reader = events.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(JSON.parse(first.split('\n')[0]!)).toMatchObject({ seq: 1, runId, type: 'run_started' });
    await reader.cancel();
    await until('the stream to be released', () => (runtime.stats().streams === 0 ? true : undefined));
  });

  it('works as Express middleware: other paths go to next(), a body an Express parser already read is used', async () => {
    const { runtime } = make();
    const server = createServer((req: IncomingMessage, res: ServerResponse) => {
      if (req.url === '/parsed/runs') {
        // What express.json() leaves behind: the stream consumed, the object on req.body.
        req.resume();
        req.on('end', () => {
          Object.assign(req, { body: { workflow: 'approval', input: { topic: 'express' }, runId: 'express-1' }, url: '/runs' });
          runtime.nodeHandler(req, res, () => res.end('next'));
        });
        return;
      }
      runtime.nodeHandler(req, res, () => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('handled by the app');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      expect(await (await fetch(`${base}/health`)).text()).toBe('handled by the app');
      const started = await api(base, '/parsed/runs', { body: { ignored: true } });
      expect(started).toMatchObject({ status: 202, body: { runId: 'express-1' } });
      expect((await api(base, '/runs/express-1')).body).toMatchObject({ runId: 'express-1', workflow: 'approval' });
    } finally {
      await runtime.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('answers 500 without internals when the auth hook throws or returns a malformed principal', async () => {
    const reported: string[] = [];
    const onError = (error: unknown) => reported.push(String(error));
    const { runtime: throwing } = make({ auth: () => { throw new Error('db down at secret.ts:12'); }, onError });
    const response = await throwing.handler(new Request('http://x/runs'));
    expect(response.status).toBe(500);
    const body = await response.text();
    expect(JSON.parse(body)).toEqual({ error: { code: 'INTERNAL', message: expect.any(String) } });
    expect(body).not.toContain('secret.ts');
    const { runtime: malformed } = make({ auth: () => ({ tenantId: '', userId: 'x' }), onError });
    expect((await malformed.handler(new Request('http://x/runs'))).status).toBe(500);
    expect(reported).toHaveLength(2);
  });

  it('close() pauses runs waiting live (pending_input, lease released) and refuses new work', async () => {
    const { runtime, workflow } = make({ hitlTimeoutMs: 60_000 });
    const started = await runtime.handler(post('http://x/runs', { workflow: 'approval', input: { topic: 'shutdown' } }));
    const { runId } = (await started.json()) as { runId: string };
    await until('the request to be committed while the run waits live', async () =>
      (await workflow.getLatestCheckpoint({ runId }))?.pendingInputs.length && runtime.stats().runs === 1 ? true : undefined,
    );
    await runtime.close();
    expect(runtime.stats().runs).toBe(0);
    expect((await workflow.getLatestCheckpoint({ runId }))?.status).toBe('pending_input');
    // The lease is free: another worker (here a plain resume) continues the run at once.
    const resumed = await workflow.resume({ runId, input: { approve: { ok: true } } });
    expect(resumed).toMatchObject({ status: 'success', output: 'published: Draft about shutdown' });
    const refused = await runtime.handler(post('http://x/runs', { workflow: 'approval' }));
    expect(refused.status).toBe(503);
  });

  it('keeps events when the event log fails for a moment, and reports a batch it had to drop', async () => {
    const memory = new MemoryAdapter();
    let failures = 1;
    const flaky = Object.assign(Object.create(memory) as MemoryAdapter, {
      appendEvents: (runId: string, events: Parameters<MemoryAdapter['appendEvents']>[1]) => {
        if (failures > 0) {
          failures -= 1;
          return Promise.reject(new Error('blip'));
        }
        return memory.appendEvents(runId, events);
      },
    });
    const reported: string[] = [];
    const { runtime } = make({ hitlTimeoutMs: 0, onError: (_e, context) => reported.push(context) }, flaky);
    const started = await runtime.handler(post('http://x/runs', { workflow: 'approval', input: { topic: 'flaky' }, runId: 'flaky' }));
    expect(started.status).toBe(202);
    const types = await until('the pause to be logged', async () => {
      const list = (await memory.readEvents(scopedRunId('default', 'flaky'), 0)).map((e) => e.type);
      return list.includes('run_paused') ? list : undefined;
    });
    expect(types[0]).toBe('run_started');
    expect(reported).toEqual([]);

    failures = 10;
    await runtime.handler(post('http://x/runs/flaky/input', { input: { approve: { ok: true } } }));
    await until('the lost batch to be reported', () => (reported.some((c) => c.includes('they are lost')) ? true : undefined));
  });

  it('writes JSON for values plain JSON.stringify rejects', () => {
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    const error = Object.assign(new Error('boom'), { code: 'E_BOOM' });
    expect(JSON.parse(toJson({ big: 10n, map: new Map([[1, 'a']]), set: new Set([1]), bytes: new Uint8Array([1, 2]), error, plain: new Error('x') }))).toEqual({
      big: '10',
      map: { 1: 'a' },
      set: [1],
      bytes: 'AQI=',
      error: { name: 'Error', message: 'boom', code: 'E_BOOM' },
      plain: { name: 'Error', message: 'x' },
    });
    expect(JSON.parse(toJson(cyclic))).toEqual({ name: 'loop', self: '[Circular]' });
    expect(toJson(undefined)).toBe('null');
  });
});
