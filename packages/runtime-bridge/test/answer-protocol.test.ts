import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import { SqliteBackend } from '@savepoint/backend-sqlite';
import { EventSource } from 'eventsource';
import { createRuntime, type RawEventEnvelope, type Runtime } from '../src/index.js';
import { api, until } from './support/api.js';
import { approvalWorkflow, type Counters } from './support/approval-workflow.js';
import { serve, type TestServer } from './support/http-server.js';

// The human-answer protocol as a client sees it (DESIGN §7, §8): a waiting run is listed at once, also while a
// process waits live for the answer; approval_requested and run_paused name their checkpoint; an answer is never
// followed by the same question again; SSE frames are named after the event type, so a WHATWG EventSource
// (the `eventsource` package, a spec-conformant client with a real SSE parser) can listen per type.
const dir = mkdtempSync(join(tmpdir(), 'savepoint-answer-protocol-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Node {
  backend: SqliteBackend;
  runtime: Runtime;
  server: TestServer;
  counters: Counters;
  workflow: ReturnType<typeof approvalWorkflow>['workflow'];
}

interface Question {
  nodePath: string;
  requestId: string;
  checkpointId: string;
  isResumed: boolean;
}

describe('the human-answer protocol over HTTP and SSE (SQLite, two processes sharing one file)', () => {
  const nodes: Node[] = [];
  const sources: EventSource[] = [];

  afterEach(async () => {
    for (const source of sources.splice(0)) source.close();
    for (const node of nodes.splice(0)) {
      await node.server.close();
      await node.backend.close();
    }
  });

  /** One "process": its own backend instance on the shared file, its own runtime and server. */
  async function node(file: string, hitlTimeoutMs: number): Promise<Node> {
    const backend = new SqliteBackend({ path: join(dir, file) });
    const { workflow, counters } = approvalWorkflow({ backend });
    const runtime = createRuntime({ workflows: { approval: workflow }, backend, hitlTimeoutMs, reaper: false, pollIntervalMs: 20 });
    const made = { backend, runtime, server: await serve(runtime), counters, workflow };
    nodes.push(made);
    return made;
  }

  /** A WHATWG EventSource listening to the named events only (no `onmessage`): what a browser app writes. */
  function listen(url: string, types: readonly string[]) {
    const source = new EventSource(url);
    sources.push(source);
    const seen: RawEventEnvelope[] = [];
    let unnamed = 0;
    source.onmessage = () => (unnamed += 1);
    for (const type of types) {
      source.addEventListener(type, (event) => {
        const envelope = JSON.parse(event.data) as RawEventEnvelope;
        expect(envelope.type).toBe(type);
        expect(event.lastEventId).toBe(String(envelope.seq));
        seen.push(envelope);
      });
    }
    return {
      seen,
      get unnamed() {
        return unnamed;
      },
      waitFor: (type: string, n = 1) => until(`${n} × ${type}`, () => seen.filter((e) => e.type === type)[n - 1]),
    };
  }

  const TYPES = ['approval_requested', 'approval_received', 'run_paused', 'run_completed', 'checkpoint_resumed'];

  it('a run waiting live is listed at once; the reaper leaves it; an answer posted to another process reaches the live waiter', async () => {
    const a = await node('live.db', 600_000);
    const b = await node('live.db', 600_000);
    const started = await api(a.server.url, '/runs', { body: { workflow: 'approval', input: { topic: 'AI' } } });
    const runId = started.body.runId as string;
    const events = listen(`${a.server.url}/runs/${runId}/events`, TYPES);
    const asked = (await events.waitFor('approval_requested')).data as Question;

    // Listed as waiting by both processes at once, while A still holds the run and waits live.
    for (const { server } of [a, b]) {
      const listed = await api(server.url, '/runs?status=pending_input');
      expect(listed.body.runs).toEqual([
        expect.objectContaining({ runId, status: 'pending_input', pendingInputs: [expect.objectContaining({ requestId: asked.requestId })] }),
      ]);
      expect((await api(server.url, `/runs/${runId}`)).body).toMatchObject({ status: 'pending_input', checkpointId: asked.checkpointId });
    }
    expect(await b.workflow.getPendingInputs()).toEqual([expect.objectContaining({ runId, requestId: asked.requestId, checkpointId: asked.checkpointId })]);
    expect(a.runtime.stats().runs).toBe(1);
    // The live waiter keeps its lease: neither reaper takes the run, an explicit resume is refused.
    expect(await b.runtime.reap()).toBe(0);
    expect(await a.runtime.reap()).toBe(0);
    expect(await api(b.server.url, `/runs/${runId}/resume`, { method: 'POST' })).toMatchObject({ status: 409, body: { error: { code: 'RUN_LOCKED' } } });

    const answered = await api(b.server.url, `/runs/${runId}/input`, { body: { input: { approve: { ok: true } }, requestIds: { approve: asked.requestId } } });
    expect(answered.status).toBe(202);
    await events.waitFor('run_completed');
    expect(a.counters).toEqual({ draft: 1, slow: 0, publish: 1 });
    expect(b.counters).toEqual({ draft: 0, slow: 0, publish: 0 });
    expect(events.seen.filter((e) => e.type === 'approval_requested')).toHaveLength(1);
    expect(events.seen.filter((e) => e.type === 'approval_received').map((e) => (e.data as { requestId: string }).requestId)).toEqual([asked.requestId]);
    expect((await api(a.server.url, '/runs?status=pending_input')).body.runs).toEqual([]);
    expect(events.unnamed).toBe(0);
  });

  it('approval_requested and run_paused name their checkpoint; after the answer the question is not asked again before approval_received', async () => {
    const a = await node('paused.db', 0);
    const started = await api(a.server.url, '/runs', { body: { workflow: 'approval', input: { topic: 'AI' } } });
    const runId = started.body.runId as string;
    const events = listen(`${a.server.url}/runs/${runId}/events`, TYPES);
    const asked = (await events.waitFor('approval_requested')).data as Question;
    const paused = (await events.waitFor('run_paused')).data as { checkpointId: string; pendingInputs: Question[] };
    await until('the run to release its lease', () => (a.runtime.stats().runs === 0 ? true : undefined));

    const head = (await api(a.server.url, `/runs/${runId}`)).body;
    expect(paused.checkpointId).toBe(head.checkpointId);
    expect(paused.pendingInputs).toEqual([expect.objectContaining({ requestId: asked.requestId })]);
    const listing = (await api(a.server.url, `/runs/${runId}/checkpoints/${asked.checkpointId}`)).body;
    expect(listing.pendingInputs).toEqual([expect.objectContaining({ requestId: asked.requestId })]);

    expect((await api(a.server.url, `/runs/${runId}/input`, { body: { input: { approve: { ok: false } }, requestIds: { approve: asked.requestId } } })).status).toBe(202);
    await events.waitFor('run_completed');
    const order = events.seen.map((e) => e.type);
    expect(order).toEqual(['approval_requested', 'run_paused', 'checkpoint_resumed', 'approval_received', 'run_completed']);
    expect(events.seen.find((e) => e.type === 'approval_received')!.data).toMatchObject({ requestId: asked.requestId, value: { ok: false } });
    expect(events.unnamed).toBe(0);
  });
});
