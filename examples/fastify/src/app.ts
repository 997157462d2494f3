import { RedisBackend } from '@savepoint/backend-redis';
import { Flow, FunctionNode, HumanInput, Workflow } from '@savepoint/core';
import { createRuntime } from '@savepoint/runtime-bridge';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { z } from 'zod';

/** A refund: the order is looked up, a support lead decides, the money goes back (or not). */
function refundWorkflow(backend: RedisBackend) {
  const lookup = new FunctionNode({
    id: 'lookup',
    run: ({ orderId, reason }: { orderId: string; reason: string }) => ({ orderId, reason, totalCents: 1999 }),
  });
  const decide = new HumanInput({
    id: 'decide',
    dependsOn: [lookup],
    prompt: ({ orderId, totalCents, reason }) => `Refund ${(totalCents / 100).toFixed(2)} EUR of order ${orderId} ("${reason}")?`,
    schema: z.object({ refund: z.boolean() }),
    expiresInMs: 7 * 86_400_000,
  });
  const settle = new FunctionNode({
    id: 'settle',
    dependsOn: [lookup, decide],
    // ctx.idempotencyKey is the same on every retry and resume of this step: pass it to the payment provider.
    run: ({ lookup, decide }, ctx) => (decide.refund ? { refundedCents: lookup.totalCents, paymentKey: ctx.idempotencyKey } : { refundedCents: 0 }),
  });
  return new Workflow({ id: 'refund', flow: new Flow({ id: 'refund', nodes: [lookup, decide, settle] }), checkpoint: { enabled: true, backend } });
}

export interface AppOptions {
  redisUrl: string;
  /** Key prefix: several apps (or tests) can share one Redis database. */
  prefix?: string;
  /** Session tokens -> principal. A stand-in for your own auth (a Fastify plugin could set it instead). */
  sessions: Record<string, { tenantId: string; userId: string }>;
  hitlTimeoutMs?: number;
}

export async function createApp({ redisUrl, prefix, sessions, hitlTimeoutMs = 30_000 }: AppOptions) {
  const backend = new RedisBackend({ url: redisUrl, ...(prefix ? { prefix } : {}) });
  const runtime = createRuntime({
    workflows: { refund: refundWorkflow(backend) },
    backend,
    auth: (request) => sessions[request.headers.get('authorization')?.replace(/^Bearer /, '') ?? ''] ?? null,
    hitlTimeoutMs,
  });

  const app = Fastify();
  app.get('/health', async () => ({ ok: true, ...runtime.stats() }));
  // The runtime reads its own request bodies (JSON only, size and depth limited), so inside this plugin Fastify
  // leaves them unread, and the reply is handed to the runtime's node:http handler as is (streams included).
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, _payload, done) => done(null));
    const toRuntime = (request: FastifyRequest, reply: FastifyReply) => {
      reply.hijack();
      runtime.nodeHandler(request.raw, reply.raw);
    };
    scope.all('/runs', toRuntime);
    scope.all('/runs/*', toRuntime);
  });
  app.addHook('onClose', async () => {
    await runtime.close(); // hands the runs this process holds over to the others
    await backend.close();
  });
  return app;
}
