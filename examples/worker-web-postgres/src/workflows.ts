import { PostgresBackend } from '@savepoint/backend-postgres';
import { Flow, FunctionNode, HumanInput, Workflow } from '@savepoint/core';
import { z } from 'zod';

/** The one backend both programs build from the same environment: same database, same schema. */
export function backendFromEnv(): PostgresBackend {
  const connectionString = process.env.DATABASE_URL;
  if (!connectionString) throw new Error('Set DATABASE_URL, e.g. postgres://postgres@127.0.0.1:5432/app');
  return new PostgresBackend({ connectionString, schema: process.env.SAVEPOINT_SCHEMA ?? 'savepoint' });
}

/**
 * A contract review: the clauses are extracted (the slow, paid part: an LLM in real life), a lawyer signs off,
 * the contract is filed. Each node records which process ran it, so you can see that the worker did.
 */
export function contractWorkflow(backend: PostgresBackend) {
  const extract = new FunctionNode({
    id: 'extract',
    run: ({ title, text }: { title: string; text: string }) => ({ title, clauses: text.split('. ').length, ranIn: process.pid }),
  });
  const signOff = new HumanInput({
    id: 'sign-off',
    dependsOn: [extract],
    prompt: ({ title, clauses }) => `Sign off "${title}" (${clauses} clauses)?`,
    schema: z.object({ approved: z.boolean(), lawyer: z.string().min(1) }),
  });
  const file = new FunctionNode({
    id: 'file',
    dependsOn: [extract, signOff],
    run: ({ extract, 'sign-off': decision }) => ({
      status: decision.approved ? 'filed' : 'returned',
      by: decision.lawyer,
      extractedIn: extract.ranIn,
      filedIn: process.pid,
    }),
  });
  return new Workflow({
    id: 'contract',
    flow: new Flow({ id: 'contract', nodes: [extract, signOff, file] }),
    checkpoint: { enabled: true, backend },
  });
}
