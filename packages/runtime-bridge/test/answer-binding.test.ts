import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import { MemoryAdapter, type StorageAdapter } from '@savepoint/core';
import WebSocket from 'ws';
import { createRuntime, type EventEnvelope } from '../src/index.js';
import { api, until } from './support/api.js';
import { openBackend, postgresTarget, redisTarget, sqliteTarget, type BackendTarget } from './support/backends.js';
import { serve, type TestServer } from './support/http-server.js';
import { twoApprovalsWorkflow, twoQuestionsWorkflow } from './support/question-workflows.js';
import { openStream, type StreamReader } from './support/sse-client.js';

// An answer is bound to the exact question it answers (DESIGN §7): the first valid answer to a question wins,
// any other answer to it, or to a question that is no longer pending, is a 409 and is stored nowhere, so it can
// never be delivered to the next question asked at the same nodePath. On every backend that serves runtimes.
const TARGETS: BackendTarget[] = [sqliteTarget(), postgresTarget(), redisTarget()];
afterAll(async () => {
  await Promise.all(TARGETS.map((target) => target.dispose()));
});

type Opened = StorageAdapter & { close?(): Promise<void> };
const cases: Array<[string, string | null, (name: string) => Opened]> = [
  ['MemoryAdapter', null, () => new MemoryAdapter()],
  ...TARGETS.map((t): [string, string | null, (name: string) => Opened] => [t.label, t.problem, (name) => openBackend(t.spec(name))]),
];

const ASK = 'ask/tool:approve';

interface Asked {
  requestId: string;
  prompt: string;
  checkpointId?: string;
}

describe.each(cases)('answers are bound to their question (%s)', (_label, problem, open) => {
  if (problem !== null) {
    it.skip(`(skipped: ${problem})`, () => undefined);
    return;
  }
  let backend: Opened | undefined;
  let server: TestServer | undefined;
  const streams: StreamReader[] = [];
  const sockets: WebSocket[] = [];

  afterEach(async () => {
    for (const stream of streams.splice(0)) stream.close();
    for (const socket of sockets.splice(0)) socket.terminate();
    await server?.close();
    await backend?.close?.();
    server = backend = undefined;
  });

  async function start(name: string, hitlTimeoutMs: number): Promise<string> {
    backend = open(name);
    const workflows = { twice: twoQuestionsWorkflow(backend), pair: twoApprovalsWorkflow(backend) };
    server = await serve(createRuntime({ workflows, backend, hitlTimeoutMs, reaper: false, pollIntervalMs: 20 }));
    return server.url;
  }
  const run = async (url: string, workflow: string) => {
    const started = await api(url, '/runs', { body: { workflow, input: {} } });
    expect(started.status).toBe(202);
    const runId = started.body.runId as string;
    const stream = await openStream(`${url}/runs/${runId}/events`);
    streams.push(stream);
    return { runId, stream };
  };
  const asked = async (stream: StreamReader, n: number): Promise<Asked> => {
    await until(`question ${n}`, () => (requests(stream).length >= n ? true : undefined));
    return requests(stream)[n - 1]!;
  };
  const answer = (url: string, runId: string, body: Record<string, unknown>, key: string) =>
    api(url, `/runs/${runId}/input`, { body, headers: { 'idempotency-key': key } });

  it('two devices answer the same question: one 202, one 409, and the node sees only the first', async () => {
    const url = await start('two-devices', 60_000);
    const { runId, stream } = await run(url, 'twice');
    const q1 = await asked(stream, 1);
    expect(q1).toMatchObject({ prompt: 'Publish the post?', requestId: expect.any(String), checkpointId: expect.any(String) });
    const [phone, laptop] = await Promise.all([
      answer(url, runId, { input: { [ASK]: { ok: true, note: 'phone' } }, requestIds: { [ASK]: q1.requestId } }, 'phone-1'),
      answer(url, runId, { input: { [ASK]: { ok: false, note: 'laptop' } }, requestIds: { [ASK]: q1.requestId } }, 'laptop-1'),
    ]);
    expect([phone.status, laptop.status].sort()).toEqual([202, 409]);
    const [winner, loser] = phone.status === 202 ? (['phone', laptop] as const) : (['laptop', phone] as const);
    expect(loser.body.error).toMatchObject({ code: 'INPUT_ALREADY_ANSWERED', issues: [{ nodePath: ASK, message: expect.any(String) }] });

    const q2 = await asked(stream, 2);
    expect(q2.requestId).not.toBe(q1.requestId);
    expect(received(stream)).toEqual([{ requestId: q1.requestId, note: winner }]);
    // Retries: the winner's key gets its 202 again, the loser's its 409; neither answers Q2.
    expect((await answer(url, runId, { input: { [ASK]: { ok: true, note: 'phone' } } }, `${winner}-1`)).status).toBe(202);
    expect((await answer(url, runId, { input: { [ASK]: { ok: true } }, requestIds: { [ASK]: q1.requestId } }, `${winner === 'phone' ? 'laptop' : 'phone'}-1`)).status).toBe(409);
    expect((await api(url, `/runs/${runId}`)).body.pendingInputs).toEqual([expect.objectContaining({ nodePath: ASK, requestId: q2.requestId })]);
  });

  it.each([
    ['waiting live', 60_000],
    ['paused', 0],
  ])('a late answer to Q1 once Q2 waits at the same path is refused; Q2 still waits for its own answer (%s)', async (_mode, hitlTimeoutMs) => {
    const url = await start(`late-${hitlTimeoutMs}`, hitlTimeoutMs);
    const { runId, stream } = await run(url, 'twice');
    const q1 = await asked(stream, 1);
    // No requestId: bound to the question pending now (Q1).
    expect(await answer(url, runId, { input: { [ASK]: { ok: true, note: 'first' } } }, 'k1')).toMatchObject({ status: 202, body: { accepted: true, runId } });
    const q2 = await asked(stream, 2);
    expect(q2.prompt).toBe('Also delete all old posts?');

    // A second device that saw Q1, and a retry with a new key: refused, stored nowhere.
    const late = await answer(url, runId, { input: { [ASK]: { ok: true, note: 'late' } }, requestIds: { [ASK]: q1.requestId } }, 'k2');
    expect(late).toMatchObject({ status: 409, body: { error: { code: 'INPUT_ALREADY_ANSWERED' } } });
    // The first request retried with its key (and no requestId) is still the answer to Q1, not one to Q2.
    expect(await answer(url, runId, { input: { [ASK]: { ok: true, note: 'first' } } }, 'k1')).toMatchObject({ status: 202 });
    // Over the WebSocket the same rules hold.
    const ws = new WebSocket(url.replace('http', 'ws') + '/ws');
    sockets.push(ws);
    const messages: any[] = [];
    ws.on('message', (data) => messages.push(JSON.parse(String(data))));
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    ws.send(JSON.stringify({ type: 'input', runId, input: { [ASK]: { ok: true } }, requestIds: { [ASK]: q1.requestId }, idempotencyKey: 'ws-late' }));
    expect(await until('the WebSocket refusal', () => messages.find((m) => m.type === 'error'))).toMatchObject({ code: 'INPUT_ALREADY_ANSWERED', runId });

    const view = await until('Q2 listed as pending', async () => {
      const body = (await api(url, `/runs/${runId}`)).body;
      return body.pendingInputs?.[0]?.requestId === q2.requestId ? body : undefined;
    });
    expect(view.pendingInputs).toHaveLength(1);
    expect(received(stream)).toEqual([{ requestId: q1.requestId, note: 'first' }]);

    expect((await answer(url, runId, { input: { [ASK]: { ok: false, note: 'second' } }, requestIds: { [ASK]: q2.requestId } }, 'k3')).status).toBe(202);
    expect((await stream.waitFor((e) => e.type === 'run_completed')).data).toEqual({ output: expect.stringMatching(/"first".*\| .*"second"/) });
    expect(received(stream)).toEqual([
      { requestId: q1.requestId, note: 'first' },
      { requestId: q2.requestId, note: 'second' },
    ]);
  });

  it('an answer without requestId to a question answered already is 409 INPUT_ALREADY_ANSWERED; a canceled run takes none (CHECKPOINT_CONFLICT)', async () => {
    const url = await start('unbound-late', 0);
    const { runId, stream } = await run(url, 'twice');
    for (const n of [1, 2]) {
      await asked(stream, n);
      await until(`question ${n} to be stored`, async () => ((await api(url, `/runs/${runId}`)).body.pendingInputs?.length === 1 ? true : undefined));
      expect((await answer(url, runId, { input: { [ASK]: { ok: true, note: `answer ${n}` } } }, `k${n}`)).status).toBe(202);
    }
    await stream.waitFor((e) => e.type === 'run_completed');
    const late = await answer(url, runId, { input: { [ASK]: { ok: false, note: 'late' } } }, 'k-late');
    expect(late).toMatchObject({ status: 409, body: { error: { code: 'INPUT_ALREADY_ANSWERED', issues: [{ nodePath: ASK }] } } });
    // A path where this run never asked anything stays a validation error.
    expect(await answer(url, runId, { input: { elsewhere: true } }, 'k-elsewhere')).toMatchObject({ status: 409, body: { error: { code: 'CHECKPOINT_CONFLICT' } } });

    const other = await run(url, 'twice');
    await asked(other.stream, 1);
    expect((await api(url, `/runs/${other.runId}/cancel`, { method: 'POST' })).body).toMatchObject({ status: 'canceled' });
    expect(await answer(url, other.runId, { input: { [ASK]: { ok: true } } }, 'k-canceled')).toMatchObject({ status: 409, body: { error: { code: 'CHECKPOINT_CONFLICT' } } });
  });

  it('answers several questions in one request, each bound to its own requestId', async () => {
    const url = await start('multi-path', 0);
    const { runId, stream } = await run(url, 'pair');
    await stream.waitFor((e) => e.type === 'run_paused');
    const pending = (await api(url, `/runs/${runId}`)).body.pendingInputs as Array<{ nodePath: string; requestId: string }>;
    const ids = Object.fromEntries(pending.map((p) => [p.nodePath, p.requestId]));
    expect(Object.keys(ids).sort()).toEqual(['editor', 'legal']);
    const input = { legal: { ok: true }, editor: { ok: false } };

    expect(await answer(url, runId, { input: { legal: { ok: true } }, requestIds: ids }, 'bad')).toMatchObject({ status: 400, body: { error: { code: 'INVALID_ARGUMENT' } } });
    expect((await answer(url, runId, { input, requestIds: ids }, 'both')).status).toBe(202);
    expect((await answer(url, runId, { input, requestIds: ids }, 'both')).status).toBe(202);
    const other = await answer(url, runId, { input, requestIds: ids }, 'other');
    expect(other).toMatchObject({ status: 409, body: { error: { code: 'INPUT_ALREADY_ANSWERED' } } });
    expect(other.body.error.issues.map((i: { nodePath: string }) => i.nodePath).sort()).toEqual(['editor', 'legal']);
    expect((await stream.waitFor((e) => e.type === 'run_completed')).data).toEqual({ output: 'legal=true editor=false' });
  });
});

/** The distinct questions asked (a question re-asked after a resume keeps its requestId). */
function requests(stream: StreamReader): Asked[] {
  const byId = new Map<string, Asked>();
  for (const e of stream.envelopes.filter((envelope: EventEnvelope) => envelope.type === 'approval_requested')) {
    const question = e.data as Asked;
    if (!byId.has(question.requestId)) byId.set(question.requestId, question);
  }
  return [...byId.values()];
}

function received(stream: StreamReader): Array<{ requestId: string; note: string | undefined }> {
  return stream.envelopes
    .filter((e) => e.type === 'approval_received')
    .map((e) => e.data as { requestId: string; value: { note?: string } })
    .map(({ requestId, value }) => ({ requestId, note: value.note }));
}
