import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import { createRuntime, type Runtime, type RuntimeOptions } from '../src/index.js';
import { api, until } from './support/api.js';
import { approvalWorkflow, type Counters } from './support/approval-workflow.js';
import { openBackend, postgresTarget, redisTarget, sqliteTarget, type BackendTarget, type OpenedBackend } from './support/backends.js';
import { ChildServer } from './support/child-server.js';
import { serve, type TestServer } from './support/http-server.js';
import { openStream, type StreamReader } from './support/sse-client.js';

// Two runtime processes over one shared storage: this test process (B) and a spawned server (A). The same
// cases run on a SQLite file (polling), PostgreSQL (LISTEN/NOTIFY) and Redis (pub/sub). A server that is not
// reachable skips its suite with a loud warning, or fails the file when CI is set.
const ACME = { 'x-tenant': 'acme' };
const LEASE_TTL_MS = 1_000;
const TARGETS: BackendTarget[] = [sqliteTarget(), postgresTarget(), redisTarget()];

afterAll(async () => {
  await Promise.all(TARGETS.map((target) => target.dispose()));
});

describe.each(TARGETS.map((target) => [target.label, target] as const))('runtime across processes (shared %s)', (label, target) => {
  const children: ChildServer[] = [];
  const streams: StreamReader[] = [];
  let backend: OpenedBackend | undefined;
  let local: TestServer | undefined;
  let runtime: Runtime | undefined;
  let counters: Counters;

  if (target.problem !== null) {
    it.skip(`(skipped: ${target.problem})`, () => undefined);
    return;
  }

  afterEach(async () => {
    for (const stream of streams.splice(0)) stream.close();
    const opened = { local, backend };
    local = undefined;
    backend = undefined;
    try {
      await Promise.all(children.splice(0).map((child) => child.kill('SIGKILL')));
      await opened.local?.close();
    } finally {
      await opened.backend?.close();
    }
  });

  async function setup(name: string, child: { hitlTimeoutMs: number; slow?: { hang: boolean }; pollIntervalMs?: number }, options: Partial<RuntimeOptions> = {}) {
    const spec = target.spec(name);
    backend = openBackend(spec);
    await backend.setup();
    const a = new ChildServer({ backend: spec, leaseTtlMs: LEASE_TTL_MS, ...child });
    children.push(a);
    const made = approvalWorkflow({ backend, leaseTtlMs: LEASE_TTL_MS, ...(child.slow ? { slow: { hang: false } } : {}) });
    counters = made.counters;
    runtime = createRuntime({
      workflows: { approval: made.workflow },
      backend,
      auth: (request) => ({ tenantId: request.headers.get('x-tenant') ?? 'acme', userId: 'parent' }),
      hitlTimeoutMs: 60_000,
      reaper: false,
      ...options,
    });
    local = await serve(runtime);
    return { a, aUrl: await a.url(), bUrl: local.url };
  }

  const follow = async (base: string, runId: string) => {
    const stream = await openStream(`${base}/runs/${runId}/events`, { headers: ACME });
    streams.push(stream);
    return stream;
  };

  it('a run started on A and answered on B completes in A; prints the answer -> run_completed latency', async () => {
    const { a, aUrl, bUrl } = await setup('answer-on-b', { hitlTimeoutMs: 60_000 });
    const started = await api(aUrl, '/runs', { body: { workflow: 'approval', input: { topic: 'scale' } }, headers: ACME });
    expect(started.status).toBe(202);
    const runId = started.body.runId as string;
    // B sees the run at once (its first checkpoint is committed before A answers 202) and streams A's events.
    expect((await api(bUrl, `/runs/${runId}`, { headers: ACME })).status).toBe(200);
    const stream = await follow(bUrl, runId);
    await stream.waitFor((e) => e.type === 'approval_requested');

    const postedAt = performance.now();
    expect(await api(bUrl, `/runs/${runId}/input`, { body: { input: { approve: { ok: true } } }, headers: { ...ACME, 'idempotency-key': 'k1' } })).toMatchObject({ status: 202 });
    const done = await stream.waitFor((e) => e.type === 'run_completed');
    const latency = performance.now() - postedAt;
    const notify = backend!.capabilities.notify ?? 'none';
    console.log(`[measure] answer POST on B -> run_completed seen on B, run waiting in A (${label}, notify: ${notify}, pollIntervalMs 250): ${latency.toFixed(1)} ms`);
    expect(done.data).toEqual({ output: 'published: Draft about scale' });
    // The waiting execution in A took the answer: the nodes ran there, once, and nothing ran in B.
    await until('A to report publish', () => (a.executed('publish') === 1 ? true : undefined));
    expect(a.executed('draft')).toBe(1);
    expect(counters).toEqual({ draft: 0, slow: 0, publish: 0 });
    expect(stream.envelopes.filter((e) => e.type === 'approval_received')).toHaveLength(1);
  });

  it('an answer posted to B resumes from the checkpoint a SIGKILLed A left while its run waited', async () => {
    const { a, aUrl, bUrl } = await setup('killed-while-waiting', { hitlTimeoutMs: 60_000 });
    const runId = (await api(aUrl, '/runs', { body: { workflow: 'approval', input: { topic: 'crash' } }, headers: ACME })).body.runId as string;
    const stream = await follow(bUrl, runId);
    await stream.waitFor((e) => e.type === 'approval_requested');
    await a.kill('SIGKILL');

    // A's lease is still live for up to LEASE_TTL_MS: B keeps the answer and resumes once the lease expires.
    expect((await api(bUrl, `/runs/${runId}/input`, { body: { input: { approve: { ok: true, note: 'from phone' } } }, headers: ACME })).status).toBe(202);
    const done = await stream.waitFor((e) => e.type === 'run_completed');
    expect(done.data).toEqual({ output: 'published: Draft about crash (from phone)' });
    expect(stream.envelopes.map((e) => e.type)).toContain('checkpoint_resumed');
    // Resumed from the checkpoint: draft (done in A) never ran again; the rest ran in B, once.
    expect(counters).toEqual({ draft: 0, slow: 0, publish: 1 });
  });

  it("the reaper resumes a run whose worker died mid-node, and leaves pending_input runs alone", async () => {
    const { a, aUrl, bUrl } = await setup('reaper', { hitlTimeoutMs: 0, slow: { hang: true } }, { reaper: { intervalMs: 100 }, hitlTimeoutMs: 0 });
    const runId = (await api(aUrl, '/runs', { body: { workflow: 'approval', input: { topic: 'reap' } }, headers: ACME })).body.runId as string;
    const stream = await follow(bUrl, runId);
    await stream.waitFor((e) => e.type === 'node_started' && e.nodeId === 'slow');
    await a.kill('SIGKILL');

    // B's reaper takes the run over once A's lease expires; `slow` runs again (it was running), `draft` does not.
    const paused = await stream.waitFor((e) => e.type === 'run_paused');
    expect(paused.data).toMatchObject({ pendingInputs: [expect.objectContaining({ nodePath: 'approve' })] });
    expect(counters).toEqual({ draft: 0, slow: 1, publish: 0 });
    expect(a.executed('draft')).toBe(1);
    // A pending_input run without an answer is not a dead run: further passes leave it be.
    expect(await runtime!.reap()).toBe(0);
    expect((await api(bUrl, `/runs/${runId}`, { headers: ACME })).body.status).toBe('pending_input');

    await api(bUrl, `/runs/${runId}/input`, { body: { input: { approve: { ok: true } } }, headers: ACME });
    expect((await stream.waitFor((e) => e.type === 'run_completed')).data).toEqual({ output: 'published: Draft about reap' });
    expect(counters).toEqual({ draft: 0, slow: 1, publish: 1 });
    expect(await runtime!.reap()).toBe(0);
  });

  it('a cancel posted to B reaches the run waiting in A through the inbox', async () => {
    const { aUrl, bUrl } = await setup('cancel-remote', { hitlTimeoutMs: 60_000, pollIntervalMs: 50 });
    const runId = (await api(aUrl, '/runs', { body: { workflow: 'approval', input: { topic: 'stop' } }, headers: ACME })).body.runId as string;
    const stream = await follow(bUrl, runId);
    await stream.waitFor((e) => e.type === 'approval_requested');
    expect(await api(bUrl, `/runs/${runId}/cancel`, { method: 'POST', headers: ACME })).toMatchObject({ status: 202, body: { status: 'cancel_requested' } });
    await stream.waitFor((e) => e.type === 'run_canceled');
    expect((await api(bUrl, `/runs/${runId}`, { headers: ACME })).body.status).toBe('canceled');
  });
});
