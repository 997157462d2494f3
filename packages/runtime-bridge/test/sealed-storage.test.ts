import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import { createRuntime } from '../src/index.js';
import { api } from './support/api.js';
import { approvalWorkflow } from './support/approval-workflow.js';
import { openBackend, postgresTarget, redisTarget, sqliteTarget, type BackendTarget, type OpenedBackend } from './support/backends.js';
import { serve, type TestServer } from './support/http-server.js';
import { dumpRaw } from './support/raw-storage.js';
import { openStream, type StreamReader } from './support/sse-client.js';

// With `redact` and `encryption` on the workflow, nothing the runtime persists (checkpoints, the event log with
// inputs, prompts, outputs and answers, the inbox) holds a secret or any plaintext, on every server-capable
// backend; clients still get the (redacted) events.
const API_KEY = 'PLANTED-api-key-7f3a9c';
const TOKEN = 'sk-live-0123456789abcdef';
const PASSWORD = 'hunter2-planted';
/** Not a secret: encrypted like everything else, so it must not appear in storage either. */
const MARKER = 'plain-marker-5e1d2b';
const checkpoint = {
  redact: { keys: ['apiKey', 'password'], patterns: [/sk-live-[0-9a-f]+/] },
  encryption: { keys: [{ id: 'k1', key: randomBytes(32) }] },
};

const TARGETS: BackendTarget[] = [sqliteTarget(), postgresTarget(), redisTarget()];
afterAll(async () => {
  await Promise.all(TARGETS.map((target) => target.dispose()));
});

describe.each(TARGETS.map((t) => [t.label, t] as const))('no plaintext secret in storage (%s)', (_label, target) => {
  if (target.problem !== null) {
    it.skip(`(skipped: ${target.problem})`, () => undefined);
    return;
  }
  let backend: OpenedBackend | undefined;
  let server: TestServer | undefined;
  let stream: StreamReader | undefined;
  afterEach(async () => {
    stream?.close();
    await server?.close();
    await backend?.close();
  });

  it('seals events and answers with the workflow store: raw storage holds no secret, clients get redacted events', async () => {
    const spec = target.spec('sealed');
    backend = openBackend(spec);
    const { workflow } = approvalWorkflow({ backend, checkpoint });
    server = await serve(createRuntime({ workflows: { approval: workflow }, backend, hitlTimeoutMs: 0, reaper: false, pollIntervalMs: 20 }));
    const started = await api(server.url, '/runs', { body: { workflow: 'approval', input: { topic: MARKER, apiKey: API_KEY, token: TOKEN } } });
    expect(started.status).toBe(202);
    const runId = started.body.runId as string;
    stream = await openStream(`${server.url}/runs/${runId}/events`);
    await stream.waitFor((e) => e.type === 'run_paused');
    const answer = { ok: true, note: `use ${TOKEN}`, password: PASSWORD };
    expect((await api(server.url, `/runs/${runId}/input`, { body: { input: { approve: answer } }, headers: { 'idempotency-key': 'k1' } })).status).toBe(202);
    const done = await stream.waitFor((e) => e.type === 'run_completed');
    await server.close();

    const raw = await dumpRaw(spec);
    expect(raw.length).toBeGreaterThan(1000);
    for (const planted of [API_KEY, TOKEN, PASSWORD, MARKER, 'Draft about']) expect({ planted, found: raw.includes(planted) }).toEqual({ planted, found: false });

    // What clients see: the events, redacted where the rules say so, and plaintext otherwise.
    const startedEvent = stream.envelopes.find((e) => e.type === 'run_started')!;
    expect(JSON.stringify(startedEvent.data)).toContain(MARKER);
    expect(JSON.stringify(startedEvent.data)).not.toContain(API_KEY);
    expect(stream.envelopes.find((e) => e.type === 'approval_requested')!.data).toMatchObject({ prompt: `Publish "Draft about ${MARKER}"?` });
    expect(stream.envelopes.find((e) => e.type === 'approval_received')!.data).toMatchObject({ value: { ok: true, note: '[REDACTED]' } });
    expect(done.data).toEqual({ output: `published: Draft about ${MARKER} ([REDACTED])` });
    expect(JSON.stringify(stream.envelopes)).not.toMatch(new RegExp(`${API_KEY}|${TOKEN}|${PASSWORD}`));
  });
});
