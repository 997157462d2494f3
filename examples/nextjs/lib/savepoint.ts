import { SqliteBackend } from '@savepoint/backend-sqlite';
import { Flow, FunctionNode, HumanInput, Workflow } from '@savepoint/core';
import { createRuntime, type Runtime } from '@savepoint/runtime-bridge';
import { z } from 'zod';

/** An invoice: drafted from the order, approved by the account owner, then sent. */
function invoiceWorkflow(backend: SqliteBackend) {
  const draft = new FunctionNode({
    id: 'draft',
    run: ({ customer, lines }: { customer: string; lines: Array<{ item: string; cents: number }> }) => ({
      customer,
      totalCents: lines.reduce((sum, line) => sum + line.cents, 0),
    }),
  });
  const approve = new HumanInput({
    id: 'approve',
    dependsOn: [draft],
    prompt: ({ customer, totalCents }) => `Send an invoice of ${(totalCents / 100).toFixed(2)} EUR to ${customer}?`,
    schema: z.object({ send: z.boolean() }),
  });
  const send = new FunctionNode({
    id: 'send',
    dependsOn: [draft, approve],
    run: ({ draft, approve }) => (approve.send ? `sent ${draft.totalCents} cents to ${draft.customer}` : 'kept as draft'),
  });
  return new Workflow({
    id: 'invoice',
    flow: new Flow({ id: 'invoice', nodes: [draft, approve, send] }),
    inputSchema: z.object({ customer: z.string().min(1), lines: z.array(z.object({ item: z.string(), cents: z.number().int().nonnegative() })).min(1) }),
    checkpoint: { enabled: true, backend },
  });
}

/** Reads the `session` cookie. A stand-in for your auth library (NextAuth, Clerk, iron-session...). */
function sessionOf(request: Request): { tenantId: string; userId: string } | null {
  const cookie = request.headers.get('cookie') ?? '';
  const session = /(?:^|;\s*)session=([^;]+)/.exec(cookie)?.[1];
  return session ? { tenantId: 'billing', userId: decodeURIComponent(session) } : null;
}

function create(): Runtime {
  const backend = new SqliteBackend({ path: process.env.SAVEPOINT_DB ?? '.savepoint/next.db' });
  return createRuntime({
    workflows: { invoice: invoiceWorkflow(backend) },
    backend,
    basePath: '/api', // the route lives at app/api/runs/...
    auth: sessionOf,
    hitlTimeoutMs: Number(process.env.SAVEPOINT_HITL_TIMEOUT_MS ?? 30_000),
  });
}

// One runtime per server process: `next dev` re-evaluates modules on every edit, and two runtimes over the same
// workflows would both execute runs, so it is kept on globalThis.
const holder = globalThis as typeof globalThis & { savepointRuntime?: Runtime };
export const savepoint: Runtime = (holder.savepointRuntime ??= create());
