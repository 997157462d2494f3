import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { CheckpointStore } from '@savepoint/core';
import { CANCEL_PATH, createRuntime } from '@savepoint/runtime-bridge';
import { sqliteBackend, type TestBackend } from './helpers/backends';
import { inProcess, json } from './helpers/runners';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { makeWorkflows } = require('./helpers/fixture-workflows.cjs');

/**
 * The CLI writes the runtime bridge's inbox records without depending on the bridge; these tests deliver them
 * through a real runtime, so a change of the bridge's format fails here.
 */
describe('answers and cancel requests reach runs served by the runtime bridge', () => {
  let backend: TestBackend;
  let adapter: ReturnType<TestBackend['open']>;
  let approval: any;
  beforeAll(() => {
    backend = sqliteBackend();
    adapter = backend.open();
    ({ approval } = makeWorkflows(adapter));
  });
  afterAll(async () => {
    await adapter.close?.();
    await backend.dispose();
  });

  test('an answer stored by the CLI is taken when a runtime resumes the run', async () => {
    // The runtime's anonymous principal is tenant 'default': a run it serves belongs to that tenant.
    const paused = await approval.run({ topic: 'inbox' }, { tenantId: 'default' });
    const answered = await inProcess([...backend.args, 'answer', paused.runId, 'approve', '{"ok":true}', '--json']);
    expect(answered.code).toBe(0);
    expect(json(answered).delivery).toBe('inbox');

    const runtime = createRuntime({ workflows: { approval }, backend: adapter, logger: { debug() {}, info() {}, warn() {}, error() {} } });
    try {
      const post = (path: string) => runtime.handler(new Request(`http://cli.test${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }));
      expect((await post(`/runs/${paused.runId}/resume`)).status).toBe(202);
      let view: { status: string; output?: unknown } = { status: 'active' };
      for (let i = 0; i < 200 && view.status !== 'completed'; i++) {
        await new Promise((resolve) => setTimeout(resolve, 25));
        view = (await (await runtime.handler(new Request(`http://cli.test/runs/${paused.runId}`))).json()) as typeof view;
      }
      expect(view).toMatchObject({ status: 'completed', output: 'published' });
    } finally {
      await runtime.close();
    }
  });

  test('cancel of a run a worker holds leaves a cancel request the bridge recognises', async () => {
    const paused = await approval.run({ topic: 'held' });
    const store = new CheckpointStore(adapter);
    const lease = await store.acquireLease(paused.runId, 'a-live-worker', 60_000);
    try {
      const out = await inProcess([...backend.args, 'cancel', paused.runId, '--json']);
      expect(out.code).toBe(0);
      expect(json(out)).toMatchObject({ status: 'cancel_requested' });
      const taken = await adapter.takeInputs!(paused.runId, 'test');
      expect(taken.map((record) => record.nodePath)).toEqual([CANCEL_PATH]);
      expect((await inProcess([...backend.args, 'delete', paused.runId])).code).toBe(1);
    } finally {
      await store.releaseLease(lease);
    }
  });
});
