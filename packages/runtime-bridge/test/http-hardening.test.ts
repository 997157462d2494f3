import { connect } from 'node:net';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import { BackendUnavailableError, MemoryAdapter, type StorageAdapter } from '@savepoint/core';
import WebSocket from 'ws';
import { createRuntime, type Runtime, type RuntimeOptions } from '../src/index.js';
import { api, until } from './support/api.js';
import { approvalWorkflow } from './support/approval-workflow.js';
import { openBackend, postgresTarget, type OpenedBackend } from './support/backends.js';
import { serve, type TestServer } from './support/http-server.js';
import { openStream } from './support/sse-client.js';

// Hostile and unlucky requests: wrong content types, deep bodies, values the store cannot hold, ids other
// tenants use, a storage that is not set up or is down, clients that vanish mid-upload.
const tenants: RuntimeOptions['auth'] = (request) => {
  const tenantId = request.headers.get('x-tenant') ?? new URL(request.url).searchParams.get('tenant') ?? 'acme';
  return { tenantId, userId: `${tenantId}-user` };
};

describe('runtime HTTP hardening', () => {
  let server: TestServer | undefined;
  let reported: Array<{ error: unknown; context: string }>;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function start(options: Partial<RuntimeOptions> = {}, backend: StorageAdapter = new MemoryAdapter()) {
    reported = [];
    const { workflow } = approvalWorkflow({ backend });
    const runtime = createRuntime({
      workflows: { approval: workflow },
      backend,
      auth: tenants,
      reaper: false,
      pollIntervalMs: 20,
      hitlTimeoutMs: 0,
      onError: (error, context) => reported.push({ error, context }),
      ...options,
    });
    server = await serve(runtime);
    return { url: server.url, runtime, workflow };
  }
  const raw = (url: string, path: string, body: string, headers: Record<string, string>) =>
    fetch(`${url}${path}`, { method: 'POST', body, headers }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));

  it('accepts JSON bodies only (415 for text/plain, forms, none), so cross-site simple requests are refused', async () => {
    const { url } = await start();
    const body = JSON.stringify({ workflow: 'approval', input: { topic: 'csrf' } });
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonp']) {
      expect({ type, ...(await raw(url, '/runs', body, { 'content-type': type })) }).toMatchObject({ type, status: 415, body: { error: { code: 'UNSUPPORTED_MEDIA_TYPE' } } });
    }
    const bare = await fetch(`${url}/runs/any/cancel`, { method: 'POST' });
    expect(bare.status).toBe(415);
    expect((await api(url, '/runs')).body.runs).toEqual([]);
    expect((await raw(url, '/runs', body, { 'content-type': 'Application/JSON; charset=UTF-8' })).status).toBe(202);
  });

  it('refuses a deeply nested body before parsing it (400 BODY_TOO_DEEP) and nothing runs or is reported', async () => {
    const { url } = await start();
    const deep = `${'['.repeat(5_000)}${']'.repeat(5_000)}`;
    const response = await raw(url, '/runs', `{"workflow":"approval","input":${deep}}`, { 'content-type': 'application/json' });
    expect(response).toMatchObject({ status: 400, body: { error: { code: 'BODY_TOO_DEEP' } } });
    // Brackets inside strings are text, not nesting.
    expect((await api(url, '/runs', { body: { workflow: 'approval', input: { topic: `${'[{'.repeat(200)}"\\` } } })).status).toBe(202);
    const ws = new WebSocket(url.replace('http', 'ws') + '/ws');
    const messages: any[] = [];
    ws.on('message', (data) => messages.push(JSON.parse(String(data))));
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    ws.send(`{"type":"subscribe","runId":"x","after":${deep}}`);
    expect(await until('the WebSocket refusal', () => messages.find((m) => m.type === 'error'))).toMatchObject({ code: 'BODY_TOO_DEEP' });
    ws.terminate();
    expect((await api(url, '/runs')).body.runs).toHaveLength(1);
    expect(reported).toEqual([]);
  });

  it('refuses input the store cannot hold before 202 (400 UNSERIALIZABLE_STATE)', async () => {
    const { url } = await start({ maxBodyBytes: 1024 * 1024, maxBodyDepth: 5_000 });
    const nest = (depth: number): unknown => (depth === 0 ? 'leaf' : [nest(depth - 1)]);
    const tooDeep = await api(url, '/runs', { body: { workflow: 'approval', input: nest(1_500), runId: 'too-deep' } });
    expect(tooDeep).toMatchObject({ status: 400, body: { error: { code: 'UNSERIALIZABLE_STATE' } } });
    expect((await api(url, '/runs/too-deep')).status).toBe(404);
    expect((await api(url, '/runs')).body.runs).toEqual([]);
    expect(reported).toEqual([]);
  });

  it('a run whose first checkpoint cannot be written is refused, not accepted and then lost', async () => {
    const memory = new MemoryAdapter();
    const refusing = Object.assign(Object.create(memory) as MemoryAdapter, {
      putHeader: () => Promise.reject(new BackendUnavailableError('the disk is read-only')),
    });
    const { url } = await start({}, refusing);
    const response = await api(url, '/runs', { body: { workflow: 'approval', input: { topic: 'lost?' }, runId: 'first' } });
    expect(response).toMatchObject({ status: 503, body: { error: { code: 'BACKEND_UNAVAILABLE' } } });
    expect((await api(url, '/runs/first')).status).toBe(404);
  });

  it('reports a run that went on without its checkpoints to onError', async () => {
    const memory = new MemoryAdapter();
    let headers = 0;
    const failing = Object.assign(Object.create(memory) as MemoryAdapter, {
      putHeader: (...args: Parameters<MemoryAdapter['putHeader']>) =>
        ++headers === 1 ? memory.putHeader(...args) : Promise.reject(new Error('disk full')),
    });
    const { url } = await start({}, failing);
    expect((await api(url, '/runs', { body: { workflow: 'approval', input: { topic: 'later' } } })).status).toBe(202);
    const report = await until('the report', () => reported.find((r) => r.context.startsWith('run ')));
    expect(report.error).toMatchObject({ code: 'CHECKPOINT_WRITE_FAILED', message: expect.stringContaining('disk full') });
  });

  it('answers 5xx with a code and a generic message; the details (paths, schemas) go to onError only', async () => {
    const memory = new MemoryAdapter();
    const detail = 'SQLite file /var/lib/app/secret.db is locked (schema sp_private)';
    const down = Object.assign(Object.create(memory) as MemoryAdapter, { getHead: () => Promise.reject(new BackendUnavailableError(detail)) });
    const { url } = await start({}, down);
    const response = await api(url, '/runs/some-run');
    expect(response).toMatchObject({ status: 503, body: { error: { code: 'BACKEND_UNAVAILABLE', message: expect.any(String) } } });
    expect(JSON.stringify(response.body)).not.toMatch(/secret\.db|\/var\/lib|sp_private/);
    expect(reported.map((r) => (r.error as Error).message)).toEqual([detail]);
  });

  it('a client that goes away mid-upload is not an error (Web and Node handlers)', async () => {
    const { url, runtime } = await start();
    const broken = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"workflow":"appr'));
        controller.error(new Error('aborted'));
      },
    });
    const request = new Request(`${url}/runs`, { method: 'POST', body: broken, headers: { 'content-type': 'application/json' }, duplex: 'half' } as RequestInit);
    const response = await runtime.handler(request);
    expect(response.status).toBe(400);
    expect(((await response.json()) as any).error.code).toBe('INVALID_BODY');

    // Through node:http: headers promise 1,000 bytes, 20 arrive, the socket is destroyed.
    const ended = new Promise<void>((resolve) => {
      const node = createServer((req: IncomingMessage, res: ServerResponse) => {
        const end = res.end.bind(res);
        res.end = ((...args: Parameters<ServerResponse['end']>) => {
          resolve();
          return end(...args);
        }) as ServerResponse['end'];
        runtime.nodeHandler(req, res);
      });
      node.listen(0, '127.0.0.1', () => {
        const socket = connect((node.address() as AddressInfo).port, '127.0.0.1', () => {
          socket.write('POST /runs HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"workflow":"approval');
          setImmediate(() => socket.destroy());
        });
        socket.on('error', () => undefined);
        socket.on('close', () => void ended.then(() => node.close()));
      });
    });
    await ended;
    expect(reported).toEqual([]);
  });

  it('runIds chosen by clients are per tenant: no 409 oracle for another tenant\'s id, no squatting', async () => {
    const { url } = await start();
    const as = (tenant: string) => ({ 'x-tenant': tenant });
    expect(await api(url, '/runs', { body: { workflow: 'approval', input: { topic: 'acme' }, runId: 'invoice-42' }, headers: as('acme') })).toMatchObject({
      status: 202,
      body: { runId: 'invoice-42' },
    });
    expect(await api(url, '/runs', { body: { workflow: 'approval', input: { topic: 'globex' }, runId: 'invoice-42' }, headers: as('globex') })).toMatchObject({
      status: 202,
      body: { runId: 'invoice-42' },
    });
    expect((await api(url, '/runs', { body: { workflow: 'approval', runId: 'invoice-42' }, headers: as('acme') })).status).toBe(409);
    for (const tenant of ['acme', 'globex']) {
      const stream = await openStream(`${url}/runs/invoice-42/events`, { headers: as(tenant) });
      await stream.waitFor((e) => e.type === 'run_paused');
      expect(stream.envelopes.every((e) => e.runId === 'invoice-42')).toBe(true);
      expect(stream.envelopes.find((e) => e.type === 'stream_chunk')!.data).toEqual({ text: `Draft about ${tenant}` });
      stream.close();
      expect((await api(url, '/runs/invoice-42', { headers: as(tenant) })).body).toMatchObject({ runId: 'invoice-42', status: 'pending_input' });
      expect((await api(url, '/runs?status=pending_input', { headers: as(tenant) })).body.runs).toEqual([expect.objectContaining({ runId: 'invoice-42' })]);
      const [head] = (await api(url, '/runs/invoice-42/checkpoints', { headers: as(tenant) })).body.checkpoints;
      expect(head.runId).toBe('invoice-42');
      expect((await api(url, `/runs/invoice-42/checkpoints/${head.id}`, { headers: as(tenant) })).body).toMatchObject({ runId: 'invoice-42', tenantId: tenant });
    }
    // A generated id is global, and still another tenant's run is a 404.
    const generated = (await api(url, '/runs', { body: { workflow: 'approval' }, headers: as('acme') })).body.runId as string;
    expect((await api(url, `/runs/${generated}`, { headers: as('globex') })).status).toBe(404);
    expect((await api(url, `/runs/${generated}`, { headers: as('acme') })).status).toBe(200);
  });

  it('sets the backend up before the first request and the first reaper pass, retrying after a failure', async () => {
    const memory = new MemoryAdapter();
    let setups = 0;
    let ready = false;
    const guarded = new Proxy(memory, {
      get(target, name, receiver) {
        if (name === 'setup') {
          return async () => {
            setups += 1;
            if (setups === 1) throw new BackendUnavailableError('the database is still starting');
            ready = true;
          };
        }
        const value = Reflect.get(target, name, receiver);
        if (typeof value !== 'function' || ['subscribe', 'publish'].includes(String(name))) return value;
        return (...args: unknown[]) => {
          if (!ready) throw new BackendUnavailableError(`${String(name)}: relation "sp_headers" does not exist`);
          return value.apply(target, args);
        };
      },
    });
    const { url, runtime } = await start({}, guarded);
    expect((await api(url, '/runs', { body: { workflow: 'approval' } })).status).toBe(503);
    expect((await api(url, '/runs', { body: { workflow: 'approval' } })).status).toBe(202);
    expect(setups).toBe(2);
    expect(await runtime.reap()).toBe(0);
  });

  it('the reaper sets a fresh backend up before its first pass', async () => {
    const memory = new MemoryAdapter();
    let setups = 0;
    const counted = Object.assign(Object.create(memory) as MemoryAdapter, {
      setup: async () => {
        setups += 1;
        if (setups === 1) throw new BackendUnavailableError('not yet');
      },
    });
    const { runtime } = await start({}, counted);
    expect(await runtime.reap()).toBe(0);
    expect(reported.map((r) => r.context)).toEqual([expect.stringContaining('setting the backend up')]);
    expect(await runtime.reap()).toBe(0);
    expect(setups).toBe(2);
  });
});

const pgTarget = postgresTarget();
afterAll(() => pgTarget.dispose());

describe('a fresh PostgreSQL schema', () => {
  if (pgTarget.problem !== null) {
    it.skip(`(skipped: ${pgTarget.problem})`, () => undefined);
    return;
  }
  let backend: OpenedBackend | undefined;
  let runtime: Runtime | undefined;
  afterAll(async () => {
    await runtime?.close();
    await backend?.close();
  });

  it('serves the first POST /runs with reaper: false (createRuntime sets the store up)', async () => {
    backend = openBackend(pgTarget.spec('fresh'));
    const { workflow } = approvalWorkflow({ backend });
    runtime = createRuntime({ workflows: { approval: workflow }, backend, reaper: false, hitlTimeoutMs: 0 });
    const response = await runtime.handler(
      new Request('http://x/runs', { method: 'POST', body: JSON.stringify({ workflow: 'approval', input: { topic: 'fresh' } }), headers: { 'content-type': 'application/json' } }),
    );
    expect(response.status).toBe(202);
    const { runId } = (await response.json()) as { runId: string };
    expect((await runtime.handler(new Request(`http://x/runs/${runId}`))).status).toBe(200);
  });
});
