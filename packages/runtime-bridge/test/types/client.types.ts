// Compile-time checks of the runtime's and the client's types, compiled by test/types.test.ts. Every
// `@ts-expect-error` must meet an error (tsc reports an unused one), every `expectType` must hold.
import { Flow, FunctionNode, HumanInput, MemoryAdapter, Workflow } from '@savepoint/core';
import { z } from 'zod';
import { createRuntimeClient, type EventEnvelope, type RawEventEnvelope, type RunInfo } from '../../src/client.js';
import { createRuntime, type RuntimeOptions } from '../../src/index.js';
import { expectType, type Equal } from './expect-type.js';

// A custom event a node emits (`ctx.emit('draft_ready', …)`), declared once for every typed listener and client.
declare module '@savepoint/core' {
  interface WorkflowEventMap<I, O> {
    draft_ready: { words: number };
  }
}

const backend = new MemoryAdapter();
const draft = new FunctionNode({ id: 'draft', run: (input: { topic: string }) => ({ text: `About ${input.topic}`, at: new Date() }) });
const approve = new HumanInput({ id: 'approve', dependsOn: [draft], prompt: 'Publish?', schema: z.object({ ok: z.boolean() }) });
const publish = new FunctionNode({ id: 'publish', dependsOn: [draft, approve], run: (deps) => (deps.approve.ok ? deps.draft : null) });
const research = new Workflow({ flow: new Flow({ id: 'research', nodes: [draft, approve, publish] }), checkpoint: { enabled: true, backend } });
const count = new Workflow({ flow: new Flow({ id: 'count', nodes: [new FunctionNode({ id: 'n', run: (items: string[]) => items.length })] }), checkpoint: { enabled: true, backend } });

// 1. RuntimeOptions takes typed workflows, and the runtime remembers them.
const runtime = createRuntime({ workflows: { research, count }, backend });
const options: RuntimeOptions = { workflows: { research, count }, backend };
void options;

// 2. A client typed by the runtime: run inputs are checked, names too.
const client = createRuntimeClient<typeof runtime>({ baseUrl: 'https://api.example.com' });
export async function typedByRuntime(): Promise<void> {
  const run = await client.startRun('research', { topic: 'AI' });
  expectType<Equal<typeof run.workflow, 'research'>>();
  // @ts-expect-error Type 'number' is not assignable to type 'string'
  await client.startRun('research', { topic: 42 });
  // @ts-expect-error Argument of type '"reserch"' is not assignable
  await client.startRun('reserch', { topic: 'AI' });
  // @ts-expect-error count takes a string[]
  await client.startRun('count', { topic: 'AI' });

  // 3. Events of a run started here are typed by its workflow; narrowing on `type` types `data`, as JSON.
  for await (const event of client.events(run)) {
    if (event.type === 'run_completed') {
      expectType<Equal<typeof event.data.output, { text: string; at: string } | null>>();
      // @ts-expect-error run_completed's data has no 'nodePath'
      void event.data.nodePath;
    }
    if (event.type === 'approval_requested') {
      expectType<Equal<typeof event.data.requestedAt, string>>();
      expectType<Equal<typeof event.data.requestId, string | undefined>>();
    }
    if (event.type === 'run_started') expectType<Equal<typeof event.data.input, { topic: string }>>();
    if (event.type === 'run_canceled') expectType<Equal<typeof event.data.by, string | undefined>>();
    if (event.type === 'node_failed') expectType<Equal<typeof event.data.error.code, string | undefined>>();
    if (event.type === 'draft_ready') expectType<Equal<typeof event.data.words, number>>();
    // @ts-expect-error an event type no workflow emits and nobody declared
    if (event.type === 'draft_redy') void event;
    // An undeclared custom event still arrives: read it as a raw envelope.
    const raw: RawEventEnvelope = event;
    void raw;
  }

  // 4. By runId alone, the events are typed by every workflow of the runtime.
  for await (const event of client.events('some-run')) {
    if (event.type === 'run_completed') expectType<Equal<typeof event.data.output, { text: string; at: string } | null | number>>();
  }

  // 5. GET /runs/:id: narrowing on `workflow` types the output.
  const view = await client.getRun(run);
  if (view.workflow === 'count') expectType<Equal<typeof view.output, number | undefined>>();
  expectType<Equal<typeof view.updatedAt, string>>();
  expectType<Equal<typeof view, RunInfo<{ research: typeof research; count: typeof count }>>>();
  const page = await client.listRuns({ workflow: 'count', status: 'pending_input' });
  expectType<Equal<typeof page.nextCursor, string | null>>();
  for await (const listed of client.iterateRuns({ limit: 10 })) expectType<Equal<typeof listed.updatedAt, string>>();
  for await (const checkpoint of client.iterateCheckpoints(run)) expectType<Equal<typeof checkpoint.seq, number>>();
  const deleted = await client.deleteRun(run);
  expectType<Equal<typeof deleted.deletedCheckpoints, number>>();
  // @ts-expect-error not a workflow of this runtime
  await client.listRuns({ workflow: 'nope' });
}

// 6. A client typed by a record of workflows (a type-only import in a browser app) is the same.
const byRecord = createRuntimeClient<{ research: typeof research }>({ baseUrl: '/api' });
export async function typedByRecord(): Promise<void> {
  const run = await byRecord.startRun('research', { topic: 'AI' });
  for await (const event of byRecord.events(run)) {
    if (event.type === 'run_completed') expectType<Equal<typeof event.data.output, { text: string; at: string } | null>>();
  }
}

// 7. An untyped client takes any name and input; outputs are unknown.
const untyped = createRuntimeClient({ baseUrl: '/api' });
export async function notTyped(): Promise<void> {
  const run = await untyped.startRun('anything', { whatever: true });
  for await (const event of untyped.events(run)) {
    if (event.type === 'run_completed') expectType<Equal<typeof event.data.output, unknown>>();
  }
}

// 8. EventEnvelope on its own narrows the same way.
export function onEvent(event: EventEnvelope<{ topic: string }, string>): void {
  switch (event.type) {
    case 'run_completed':
      expectType<Equal<typeof event.data.output, string>>();
      break;
    case 'stream_chunk':
      expectType<Equal<typeof event.data.delta, string>>();
      break;
  }
  // @ts-expect-error 'output' is only on run_completed's data: narrow on type first
  void event.data.output;
}
