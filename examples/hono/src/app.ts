import { FileBackend } from '@savepoint/backend-file';
import { Flow, FunctionNode, HumanInput, Workflow } from '@savepoint/core';
import { createRuntime } from '@savepoint/runtime-bridge';
import { Hono } from 'hono';
import { z } from 'zod';

/** A blog post drafted, reviewed by an editor (who may retitle it), then published. */
function postWorkflow(backend: FileBackend) {
  const draft = new FunctionNode({ id: 'draft', run: ({ topic }: { topic: string }) => ({ title: `Notes on ${topic}`, body: `Everything about ${topic}.` }) });
  const review = new HumanInput({
    id: 'review',
    dependsOn: [draft],
    prompt: ({ title }) => `Publish "${title}"?`,
    schema: z.object({ publish: z.boolean(), title: z.string().min(1).optional() }),
  });
  const publish = new FunctionNode({
    id: 'publish',
    dependsOn: [draft, review],
    run: ({ draft, review }) => (review.publish ? { published: true, title: review.title ?? draft.title } : { published: false, title: draft.title }),
  });
  return new Workflow({ id: 'post', flow: new Flow({ id: 'post', nodes: [draft, review, publish] }), checkpoint: { enabled: true, backend } });
}

export interface AppOptions {
  /** Where the file backend keeps runs (one folder; processes on this host may share it). */
  dir: string;
  /** The API key clients send as `x-api-key`. A stand-in for your own auth. */
  apiKey: string;
  hitlTimeoutMs?: number;
}

/** A Hono app: the runtime's routes under /api/runs, the app's own under the rest. */
export function createApp({ dir, apiKey, hitlTimeoutMs = 30_000 }: AppOptions) {
  const backend = new FileBackend({ dir });
  const runtime = createRuntime({
    workflows: { post: postWorkflow(backend) },
    backend,
    basePath: '/api',
    auth: (request) => (request.headers.get('x-api-key') === apiKey ? { tenantId: 'blog', userId: 'editor' } : null),
    hitlTimeoutMs,
  });

  const app = new Hono();
  // The runtime takes the raw Web Request: Hono's middleware (logging, CORS...) still runs before it.
  app.all('/api/runs', (c) => runtime.handler(c.req.raw));
  app.all('/api/runs/*', (c) => runtime.handler(c.req.raw));
  app.get('/', (c) => c.text('POST /api/runs {"workflow":"post","input":{"topic":"..."}} with x-api-key'));

  return { app, runtime, close: () => runtime.close().then(() => backend.close()) };
}
