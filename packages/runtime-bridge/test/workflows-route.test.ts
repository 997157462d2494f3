import { describe, expect, it, jest } from '@jest/globals';
import { BackendUnavailableError, Flow, FunctionNode, MemoryAdapter, Workflow } from '@savepoint/core';
import { z } from 'zod';
import { createRuntime, type Runtime, type WorkflowDescription } from '../src/index.js';
import { api } from './support/api.js';
import { serveEach } from './support/serve-each.js';
import { plainWorkflow, RESEARCH_INPUT, researchWorkflow, reviewWorkflow } from './support/schema-workflows.js';

const SCHEMA = 'https://json-schema.org/draft/2020-12/schema';
const TENANT = { 'x-tenant': 'acme' };

// GET /workflows: what a client may start and answer, as JSON Schema.
describe('GET /workflows', () => {
  const serve = serveEach();

  async function start(backend = new MemoryAdapter(), extra: Record<string, Workflow<any, any, any>> = {}) {
    const review = reviewWorkflow(backend);
    // Listed out of name order: the route sorts them.
    const workflows = { review, plain: plainWorkflow(backend), research: researchWorkflow(backend).workflow, ...extra };
    const runtime: Runtime = createRuntime({
      workflows,
      backend,
      reaper: false,
      onError: () => undefined,
      auth: (request) => (request.headers.get('x-tenant') ? { tenantId: 'acme', userId: 'ada' } : null),
    });
    const server = await serve(runtime);
    return { url: server.url, review };
  }

  it("lists every workflow by name with its ids, its input and output schemas and its questions' answer schemas", async () => {
    const { url } = await start();
    const response = await api<{ workflows: WorkflowDescription[] }>(url, '/workflows', { headers: TENANT });
    expect(response.status).toBe(200);
    const [plain, research, review] = response.body.workflows;
    expect(response.body.workflows.map((w) => w.name)).toEqual(['plain', 'research', 'review']);
    expect(plain).toEqual({ name: 'plain', workflowId: 'plain', flowId: 'plain', inputSchema: null, outputSchema: null, questions: [], notes: [] });
    expect(research).toEqual({
      name: 'research',
      workflowId: 'research',
      flowId: 'research',
      // The input side: what a client sends, so `depth` (it has a default) is optional.
      inputSchema: z.toJSONSchema(RESEARCH_INPUT, { io: 'input' }),
      outputSchema: { $schema: SCHEMA, type: 'string' },
      questions: [{ nodePath: 'approve', schema: { $schema: SCHEMA, type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] } }],
      notes: [],
    });
    expect(research!.inputSchema).toMatchObject({ required: ['topic'], properties: { depth: { default: 2 } } });
    expect(review).toMatchObject({
      name: 'review',
      workflowId: 'review-items',
      flowId: 'review',
      inputSchema: null,
      questions: [
        { nodePath: 'each[*]/per-item/check', schema: { $schema: SCHEMA, type: 'string', enum: ['yes', 'no'] } },
        { nodePath: 'each[*]/per-item/sign', schema: { $schema: SCHEMA } },
      ],
    });
  });

  it('gives parts JSON Schema cannot express (a transform, z.custom) as {} with a note, and a schema zod cannot convert at all as null', async () => {
    const broken = z.object({ id: z.string() });
    // A schema whose conversion throws whatever the options (zod calls this hook first).
    (broken._zod as { toJSONSchema?: () => never }).toJSONSchema = () => {
      throw new Error('no JSON Schema for this one');
    };
    const backend = new MemoryAdapter();
    const odd = new Workflow({ flow: new Flow({ id: 'odd', nodes: [new FunctionNode({ id: 'echo', run: (input: { id: string }) => input.id })] }), inputSchema: broken, checkpoint: { enabled: true, backend } });
    const { url } = await start(backend, { odd });
    const { workflows } = (await api<{ workflows: WorkflowDescription[] }>(url, '/workflows', { headers: TENANT })).body;
    const review = workflows.find((w) => w.name === 'review')!;
    expect(review.outputSchema).toEqual({ $schema: SCHEMA });
    expect(review.notes).toEqual([
      'outputSchema: Transforms cannot be represented in JSON Schema; that part is {} (any value) in this JSON Schema, the zod schema still checks it',
      'question "each[*]/per-item/sign": Custom types cannot be represented in JSON Schema; that part is {} (any value) in this JSON Schema, the zod schema still checks it',
    ]);
    expect(workflows.find((w) => w.name === 'odd')).toMatchObject({
      inputSchema: null,
      notes: ['inputSchema: no JSON Schema (no JSON Schema for this one); the zod schema still checks it'],
    });
  });

  it('computes the schemas once per runtime', async () => {
    const { url, review } = await start();
    const questions = jest.spyOn(review.flow, 'questions');
    const first = await api(url, '/workflows', { headers: TENANT });
    const second = await api(url, '/workflows', { headers: TENANT });
    expect(second.body).toEqual(first.body);
    expect(questions).toHaveBeenCalledTimes(1);
  });

  it('is behind the auth hook, answers GET only, and works while the storage is down', async () => {
    const backend = new MemoryAdapter();
    Object.assign(backend, { setup: () => Promise.reject(new BackendUnavailableError('connection refused')) });
    const { url } = await start(backend);
    expect(await api(url, '/workflows')).toMatchObject({ status: 401, body: { error: { code: 'UNAUTHENTICATED' } } });
    expect(await api(url, '/workflows', { method: 'POST', body: {}, headers: TENANT })).toMatchObject({ status: 405, body: { error: { code: 'METHOD_NOT_ALLOWED' } } });
    expect((await api(url, '/runs', { headers: TENANT })).status).toBe(503);
    expect((await api(url, '/workflows/', { headers: TENANT })).status).toBe(200);
  });
});
