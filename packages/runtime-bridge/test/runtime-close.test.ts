// runtime.close() hands runs over (issue 9 §6, DESIGN §8): two runtimes on one storage stand for two processes. A
// closes while a run is busy in a node; B's reaper (whose timer never fires in these tests: an hour) takes the run
// over as soon as A's notification arrives, not after A's lease (an hour too) expires. Between real processes on
// SQLite, files, PostgreSQL and Redis: tests/multi-process/test/shutdown.test.ts.
import { afterEach, describe, expect, it } from '@jest/globals';
import { MemoryAdapter, type StorageAdapter, type WorkflowEvent } from '@savepoint/core';
import { createRuntime, type Runtime, type RuntimeOptions } from '../src/index.js';
import { until } from './support/api.js';
import { approvalWorkflow, type ApprovalOptions } from './support/approval-workflow.js';

const HOUR = 3_600_000;
const post = (url: string, body: unknown) =>
  new Request(url, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });

describe('runtime.close() hands its runs over', () => {
  const runtimes: Runtime[] = [];
  const make = (backend: StorageAdapter, slow: ApprovalOptions['slow'], options: Partial<RuntimeOptions> = {}) => {
    const { workflow, counters } = approvalWorkflow({ backend, slow, leaseTtlMs: HOUR });
    const runtime = createRuntime({ workflows: { approval: workflow }, backend, reaper: { intervalMs: HOUR }, pollIntervalMs: 10, onError: () => undefined, ...options });
    runtimes.push(runtime);
    return { runtime, counters, workflow };
  };
  afterEach(async () => {
    await Promise.all(runtimes.splice(0).map((runtime) => runtime.close()));
  });

  const start = async (runtime: Runtime) => {
    const response = await runtime.handler(post('http://a/runs', { workflow: 'approval', input: { topic: 'deploys' } }));
    expect(response.status).toBe(202);
    return ((await response.json()) as { runId: string }).runId;
  };

  it('lets the running node finish within closeTimeoutMs, commits paused, releases the lease; another runtime continues at once', async () => {
    const backend = new MemoryAdapter();
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const a = make(backend, { hang: false, gate: () => gate }, { closeTimeoutMs: HOUR });
    const b = make(backend, { hang: false });
    const events: WorkflowEvent[] = [];
    a.workflow.on('*', (event) => events.push(event));
    const runId = await start(a.runtime);
    await until('A to be inside the slow node', () => (a.counters.slow === 1 ? true : undefined));

    const closed = a.runtime.close();
    open();
    await closed;
    expect(a.runtime.stats().runs).toBe(0);
    expect(events.find((e) => e.type === 'run_paused')).toMatchObject({ runId, data: { reason: 'shutdown' } });
    const handedOver = events.filter((e) => e.type === 'checkpoint_created').at(-1)!.data as { checkpointId: string };
    expect(await a.workflow.store!.load(handedOver.checkpointId)).toMatchObject({ status: 'paused', completedNodeIds: ['draft', 'slow'] });

    // B resumes it from A's notification (its reaper's timer would only fire in an hour, A's lease lasts an hour).
    await until('B to run it up to the question', async () =>
      (await b.workflow.getLatestCheckpoint({ runId }))?.status === 'pending_input' ? true : undefined,
    );
    expect(b.runtime.stats().runs).toBe(1);
    expect({ a: a.counters, b: b.counters }).toEqual({ a: { draft: 1, slow: 1, publish: 0 }, b: { draft: 0, slow: 0, publish: 0 } });
    const refused = await a.runtime.handler(post('http://a/runs', { workflow: 'approval', input: { topic: 'late' } }));
    expect(refused.status).toBe(503);
  });

  it('aborts a node still running after closeTimeoutMs: the other runtime runs it again, once', async () => {
    const backend = new MemoryAdapter();
    const a = make(backend, { hang: true }, { closeTimeoutMs: 0 });
    const b = make(backend, { hang: false });
    const runId = await start(a.runtime);
    await until('A to be inside the slow node', () => (a.counters.slow === 1 ? true : undefined));
    await a.runtime.close();

    await until('B to run it up to the question', async () =>
      (await b.workflow.getLatestCheckpoint({ runId }))?.status === 'pending_input' ? true : undefined,
    );
    const [pausedByA] = await b.workflow.listCheckpoints({ runId, limit: 3 }).then((list) => list.filter((c) => c.status === 'paused'));
    const paused = await b.workflow.store!.load(pausedByA!.id);
    expect(paused.nodeStates.slow).toMatchObject({ status: 'running' });
    expect({ a: a.counters.slow, b: b.counters.slow, draft: a.counters.draft + b.counters.draft }).toEqual({ a: 1, b: 1, draft: 1 });
  });

  it("a reaper pass also resumes paused heads nobody holds (a handover whose notification it missed)", async () => {
    const backend = new MemoryAdapter();
    let entered!: () => void;
    const inSlow = new Promise<void>((resolve) => (entered = resolve));
    // A plain workflow in "another process", shut down without a runtime: nobody is notified.
    const { workflow: plain } = approvalWorkflow({ backend, leaseTtlMs: HOUR, slow: { hang: false, gate: () => (entered(), new Promise(() => undefined)) } });
    const running = plain.run({ topic: 'missed' }, { runId: 'missed' });
    await inSlow;
    await plain.shutdown({ graceMs: 0 });
    expect((await running).status).toBe('paused');

    const b = make(backend, { hang: false });
    expect(await b.runtime.reap()).toBe(1);
    await until('B to run it up to the question', async () =>
      (await b.workflow.getLatestCheckpoint({ runId: 'missed' }))?.status === 'pending_input' ? true : undefined,
    );
    expect(b.counters.slow).toBe(1);
  });
});
