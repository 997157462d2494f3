import { describe, expect, it } from '@jest/globals';
import { Flow, FunctionNode, MemoryAdapter, Workflow } from '@savepoint/core';
import { z } from 'zod';
import { createRuntime, type Runtime } from '../src/index.js';
import { scopedRunId } from '../src/run-ids.js';
import { api, until } from './support/api.js';
import { serveEach } from './support/serve-each.js';
import { researchWorkflow } from './support/schema-workflows.js';

// Schemas at the edges (issue #11): POST /runs checks the input against the workflow's inputSchema before the
// run exists anywhere; a refusal is a 422 listing what to fix.
describe('POST /runs with a workflow inputSchema', () => {
  const serve = serveEach();

  async function start() {
    const backend = new MemoryAdapter();
    const research = researchWorkflow(backend);
    const runtime: Runtime = createRuntime({ workflows: { research: research.workflow }, backend, reaper: false, pollIntervalMs: 10, hitlTimeoutMs: 0 });
    const server = await serve(runtime);
    return { backend, runtime, url: server.url, ...research };
  }

  it('refuses a bad input with 422 INVALID_RUN_INPUT and its issues; nothing is stored, registered or logged', async () => {
    const { backend, runtime, url, workflow, seen } = await start();
    const refused = await api(url, '/runs', { body: { workflow: 'research', input: { topic: '', depth: 'deep' }, runId: 'bad-input' } });
    expect(refused.status).toBe(422);
    expect(refused.body.error).toMatchObject({ code: 'INVALID_RUN_INPUT' });
    expect(refused.body.error.message).toMatch(/Workflow "research" refused the run input; nothing was started\. Send an `input` its inputSchema accepts/);
    expect(refused.body.error.issues).toEqual([
      { path: 'topic', message: expect.stringMatching(/>=1 characters/) },
      { path: 'depth', message: expect.stringMatching(/expected number, received string/) },
    ]);
    expect((await api(url, '/runs', { body: { workflow: 'research' } })).body.error).toMatchObject({
      code: 'INVALID_RUN_INPUT',
      issues: [{ path: '', message: expect.stringMatching(/expected object, received undefined/) }],
    });

    const stored = scopedRunId('default', 'bad-input');
    expect(await backend.getHead(stored)).toBeNull();
    expect(await backend.readEvents(stored, 0)).toEqual([]);
    expect(await workflow.listCheckpoints({ tenantId: 'default' })).toEqual([]);
    expect(await workflow.listCheckpoints()).toEqual([]);
    expect(runtime.stats().runs).toBe(0);
    expect((await api(url, '/runs')).body.runs).toEqual([]);
    expect((await api(url, '/runs/bad-input')).status).toBe(404);
    expect(seen).toEqual([]);
    // The id is still free: nothing claimed it.
    expect((await api(url, '/runs', { body: { workflow: 'research', input: { topic: 'AI' }, runId: 'bad-input' } })).status).toBe(202);
  });

  it('runs a good input as zod outputs it (defaults applied), in the flow and in its checkpoints', async () => {
    const { url, seen } = await start();
    const started = await api(url, '/runs', { body: { workflow: 'research', input: { topic: 'AI' }, metadata: { source: 'test', startedBy: 'mallory' } } });
    expect(started.status).toBe(202);
    const { runId } = started.body as { runId: string };
    await until('the question', async () => ((await api(url, `/runs/${runId}`)).body.status === 'pending_input' ? true : undefined));
    expect(seen).toEqual([{ topic: 'AI', depth: 2 }]);
    const [checkpoint] = (await api(url, `/runs/${runId}/checkpoints?limit=1`)).body.checkpoints as Array<{ id: string; metadata: Record<string, unknown> }>;
    // A client's metadata is kept; who started the run is the runtime's to say.
    expect(checkpoint!.metadata).toEqual({ source: 'test', startedBy: 'anonymous' });
    const full = (await api(url, `/runs/${runId}/checkpoints/${checkpoint!.id}`)).body as { originalInput: unknown };
    expect(full.originalInput).toEqual({ topic: 'AI', depth: 2 });
    expect((await api(url, `/runs/${runId}/input`, { body: { input: { approve: { ok: true } } } })).status).toBe(202);
    const output = await until('the output', async () => {
      const view = (await api(url, `/runs/${runId}`)).body as { status: string; output?: string };
      return view.status === 'completed' ? view.output : undefined;
    });
    expect(output).toBe('published: AI at depth 2');
  });

  it('refuses metadata that is not an object of values with a 400', async () => {
    const { url } = await start();
    expect((await api(url, '/runs', { body: { workflow: 'research', input: { topic: 'AI' }, metadata: ['x'] } })).body.error).toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it("reports a node's refused input and a refused run output as the run's error (GET /runs/:id), not as an HTTP error", async () => {
    const strict = new FunctionNode({ id: 'strict', inputSchema: z.object({ n: z.number() }), run: (input: { n: number }) => input.n });
    const wrongOutput = new FunctionNode({ id: 'count', run: () => 'three' });
    const backend = new MemoryAdapter();
    const workflows = {
      strict: new Workflow({ flow: new Flow({ id: 'strict', nodes: [strict] }), checkpoint: { enabled: true, backend } }),
      counted: new Workflow({ flow: new Flow({ id: 'counted', nodes: [wrongOutput] }), outputSchema: z.string().max(3), checkpoint: { enabled: true, backend } }),
    };
    const server = await serve(createRuntime({ workflows, backend, reaper: false, pollIntervalMs: 10 }));
    const url = server.url;
    const failed = async (workflow: string, input: unknown) => {
      const { runId } = (await api(url, '/runs', { body: { workflow, input } })).body as { runId: string };
      return until('the run to fail', async () => {
        const view = (await api(url, `/runs/${runId}`)).body as { status: string };
        return view.status === 'failed' ? view : undefined;
      });
    };
    expect(await failed('strict', { n: 'one' })).toMatchObject({ status: 'failed', error: { code: 'INVALID_NODE_INPUT', message: expect.stringMatching(/Node "strict" refused its input/) } });
    expect(await failed('counted', {})).toMatchObject({
      status: 'failed',
      error: { name: 'InvalidOutputError', code: 'INVALID_OUTPUT', message: expect.stringMatching(/fails the workflow.s outputSchema: .*<=3 characters/s) },
    });
  });

  it("shows a completed run's output as the outputSchema makes it, as run_completed does", async () => {
    const backend = new MemoryAdapter();
    const shout = new Workflow({
      flow: new Flow({ id: 'shout', nodes: [new FunctionNode({ id: 'say', run: (text: string) => text })] }),
      outputSchema: z.string().transform((text) => text.toUpperCase()),
      checkpoint: { enabled: true, backend },
    });
    const server = await serve(createRuntime({ workflows: { shout }, backend, reaper: false, pollIntervalMs: 10 }));
    const { runId } = (await api(server.url, '/runs', { body: { workflow: 'shout', input: 'hi' } })).body as { runId: string };
    const view = await until('the run to complete', async () => {
      const body = (await api(server.url, `/runs/${runId}`)).body as { status: string; output?: string };
      return body.status === 'completed' ? body : undefined;
    });
    expect(view.output).toBe('HI');
    const events = await fetch(`${server.url}/runs/${runId}/events`, { headers: { accept: 'application/x-ndjson' } });
    const reader = events.body!.getReader();
    let text = '';
    while (!text.includes('run_completed')) text += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
    const completed = text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as { type: string; data: unknown }).find((e) => e.type === 'run_completed');
    expect(completed?.data).toEqual({ output: 'HI' });
  });
});
