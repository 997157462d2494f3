// Compile-time checks of the engine's types, compiled by test/types/types.test.ts. Every `@ts-expect-error` must
// meet an error (tsc reports an unused one), every `expectType` must hold.
import { z } from 'zod';
import {
  Agent,
  GraphOrchestrator,
  LinearOrchestrator,
  InvalidResumeInputError,
  InvalidRunInputError,
  NotFoundError,
  RemovedByRetentionError,
  Choice,
  Flow,
  FunctionNode,
  HumanInput,
  MapNode,
  MemoryAdapter,
  Subflow,
  Workflow,
  type AnyWorkflowEvent,
  type InputOf,
  type OutputOf,
  type PendingInputContext,
  type RunResult,
  ScriptedLLM,
} from '../../src/index.js';
import { expectType, type Equal } from './expect-type.js';

// 1. A FunctionNode's input comes from its run's annotation (roots) and its output from what run returns.
const fetchDocs = new FunctionNode({ id: 'fetch', run: async (input: { topic: string }) => [`${input.topic}: three sources`] });
expectType<Equal<InputOf<typeof fetchDocs>, { topic: string }>>();
expectType<Equal<OutputOf<typeof fetchDocs>, string[]>>();
expectType<Equal<typeof fetchDocs.id, 'fetch'>>();

// 2. One dependency: the node receives that node's output, without an annotation.
const count = new FunctionNode({ id: 'count', dependsOn: [fetchDocs], run: (docs) => docs.length });
expectType<Equal<InputOf<typeof count>, string[]>>();

// 3. Several dependencies: a record of their outputs by id.
const report = new FunctionNode({ id: 'report', dependsOn: [fetchDocs, count], run: (deps) => `${deps.count}: ${deps.fetch.join()}` });
expectType<Equal<InputOf<typeof report>, { fetch: string[]; count: number }>>();

// 4. A dependency that may be skipped (`when`, `branch`) may be undefined in the record.
const long = new FunctionNode({ id: 'long', dependsOn: [count], when: (n) => n > 2, run: (n) => n * 2 });
const summary = new FunctionNode({ id: 'summary', dependsOn: [long, report], run: (deps) => deps });
expectType<Equal<InputOf<typeof summary>, { long: number | undefined; report: string }>>();

// 5. A wrongly wired dependsOn is a compile error: `count` gives a number, not a string.
// @ts-expect-error Type 'number' is not assignable to type 'string'
new FunctionNode({ id: 'wrong', dependsOn: [count], run: (text: string) => text.length });

// 6. Dependencies named by id carry no type: the annotation decides (as before).
const byId = new FunctionNode({ id: 'byId', dependsOn: ['count'], run: (n: number) => n + 1 });
expectType<Equal<InputOf<typeof byId>, number>>();

// 7. Explicit type arguments keep their old meaning (input, output).
const explicit = new FunctionNode<number, string>({ id: 'explicit', dependsOn: ['count'], run: (n) => n.toFixed() });
expectType<Equal<InputOf<typeof explicit>, number>>();
expectType<Equal<OutputOf<typeof explicit>, string>>();

// 8. A flow's output is its sink's output; a workflow is typed by its flow.
const research = new Flow({ id: 'research', nodes: [fetchDocs, count, report] });
const workflow = new Workflow({ flow: research, checkpoint: { enabled: true, backend: new MemoryAdapter() } });
expectType<Equal<typeof workflow, Workflow<{ topic: string }, string, {}>>>();
export async function runs(): Promise<void> {
  const result = await workflow.run({ topic: 'AI' });
  expectType<Equal<typeof result.output, string | undefined>>();
  // @ts-expect-error Argument of type 'number' is not assignable to parameter of type '{ topic: string; }'
  await workflow.run(42);
  // @ts-expect-error Property 'topic' is missing
  await workflow.run({ title: 'AI' });
}

// 9. Several sinks: the output is a record of theirs by id.
const two = new Workflow({ flow: new Flow({ id: 'pair', nodes: [fetchDocs, count, report, long] }) });
export async function pair(): Promise<void> {
  const { output } = await two.run({ topic: 'x' });
  expectType<Equal<typeof output, { report: string; long: number | undefined } | undefined>>();
}

// 10. Roots' inputs combine: every root receives the run input.
const lang = new FunctionNode({ id: 'lang', run: (input: { lang: string }) => input.lang });
const both = new Workflow({ flow: new Flow({ id: 'both', nodes: [fetchDocs, lang] }) });
expectType<Equal<Parameters<typeof both.run>[0], { topic: string } & { lang: string }>>();

// 11. HumanInput: the node's output is the schema's output; answers are checked against the schema's input.
const approve = new HumanInput({ id: 'approve', dependsOn: [report], prompt: (text) => `Publish ${text}?`, schema: z.object({ ok: z.boolean() }) });
expectType<Equal<OutputOf<typeof approve>, { ok: boolean }>>();
const publish = new FunctionNode({ id: 'publish', dependsOn: [approve], run: ({ ok }) => (ok ? ('published' as const) : ('dropped' as const)) });
const hitl = new Workflow({ flow: new Flow({ id: 'hitl', nodes: [fetchDocs, count, report, approve, publish] }) });
export async function answers(runId: string, path: string): Promise<void> {
  const done = await hitl.resume({ runId, answers: [approve.answer({ ok: true })] });
  expectType<Equal<typeof done.output, 'published' | 'dropped' | undefined>>();
  await hitl.resume({ runId, answers: [approve.answer({ ok: true }, { requestId: 'r1' })] });
  await hitl.resume({ runId, input: { approve: { ok: false } } });
  // @ts-expect-error Type 'string' is not assignable to type 'boolean'
  approve.answer({ ok: 'yes' });
  // @ts-expect-error Object literal may only specify known properties, and 'extra' does not exist
  approve.answer({ ok: true, extra: 1 });
  // @ts-expect-error Type 'string' is not assignable to type 'boolean'
  await hitl.resume({ runId, input: { approve: { ok: 'yes' } } });
  // @ts-expect-error 'aprove' does not exist in type (a static unknown path)
  await hitl.resume({ runId, input: { aprove: { ok: true } } });
  const other = new HumanInput({ id: 'other', prompt: 'Sure?', schema: z.boolean() });
  // @ts-expect-error an answer to a question this workflow does not ask
  await hitl.resume({ runId, answers: [other.answer(true)] });
  // A path known only at run time is checked at run time (InvalidResumeInputError).
  await hitl.resume({ runId, input: { [path]: { ok: true } } });
}

// 12. Questions inside subflows and maps keep their paths and schemas.
const review = new Flow({ id: 'review', nodes: [new HumanInput({ id: 'check', prompt: 'OK?', schema: z.enum(['yes', 'no']) })] });
const perItem = new MapNode({ id: 'each', inner: review, items: (list: string[]) => list });
const nested = new Subflow({ flow: review });
expectType<Equal<OutputOf<typeof perItem>, ('yes' | 'no')[]>>();
expectType<Equal<typeof nested.id, 'review'>>();
const nestedFlow = new Workflow({ flow: new Flow({ id: 'nested', nodes: [perItem, nested] }) });
export async function nestedAnswers(runId: string): Promise<void> {
  await nestedFlow.resume({ runId, input: { 'review/check': 'yes', 'each[3]/review/check': 'no' } });
  // @ts-expect-error Type '"maybe"' is not assignable to type '"yes" | "no"'
  await nestedFlow.resume({ runId, input: { 'each[0]/review/check': 'maybe' } });
  const check = review.nodes[0] as HumanInput<z.ZodEnum<{ yes: 'yes'; no: 'no' }>, unknown, 'check'>;
  await nestedFlow.resume({ runId, answers: [check.answer('yes', { nodePath: 'each[2]/review/check' })] });
  // @ts-expect-error an answer at a path this workflow does not ask at
  await nestedFlow.resume({ runId, answers: [check.answer('yes', { nodePath: 'each/review/check' })] });
}

// 13. Choice branches: nodes with `branch` may be skipped.
const route = new Choice({ id: 'route', dependsOn: [count], choose: (n) => (n > 3 ? 'long' : 'short') });
const short = new FunctionNode({ id: 'short', dependsOn: [route, count], branch: 'short', run: (deps) => deps.count });
expectType<Equal<InputOf<typeof route>, number>>();
expectType<Equal<InputOf<typeof short>, { route: string; count: number }>>();
const branched = new Workflow({ flow: new Flow({ id: 'branched', nodes: [fetchDocs, count, route, short] }) });
expectType<Equal<Awaited<ReturnType<typeof branched.run>>['output'], number | undefined>>();

// 14. Events: each type's data is typed; '*' is a union to narrow on `type`.
workflow.on('approval_requested', (event) => {
  expectType<Equal<typeof event.data.nodePath, string>>();
  expectType<Equal<typeof event.data.isResumed, boolean>>();
  const context: PendingInputContext = event.data;
  void context;
});
workflow.on('run_completed', (event) => expectType<Equal<typeof event.data.output, string>>());
workflow.on('run_started', (event) => expectType<Equal<typeof event.data.input, { topic: string }>>());
workflow.on('*', (event) => {
  expectType<Equal<typeof event, AnyWorkflowEvent<{ topic: string }, string>>>();
  if (event.type === 'node_failed') expectType<Equal<typeof event.data.error.message, string>>();
});
// @ts-expect-error run_completed's data has no 'nodePath'
workflow.on('run_completed', (event) => event.data.nodePath);
workflow.on('my_custom_event', (event) => expectType<Equal<typeof event.data, unknown>>());

// 15. Schemas at the edges: a workflow's inputSchema types run() for a flow that does not.
const anyInput = new FunctionNode({ id: 'echo', run: (input: unknown) => String(input) });
const checked = new Workflow({ flow: new Flow({ id: 'checked', nodes: [anyInput] }), inputSchema: z.object({ n: z.number() }) });
const defaulted = new Workflow({ flow: new Flow({ id: 'defaulted', nodes: [anyInput] }), inputSchema: z.object({ n: z.number().default(1) }) });
export async function schemas(): Promise<void> {
  await checked.run({ n: 1 });
  await defaulted.run({}); // run() takes the schema's input: a field with a default may be left out
  // @ts-expect-error Type 'string' is not assignable to type 'number'
  await checked.run({ n: 'one' });
}

// 16. The old explicit form still compiles for flows the compiler knows nothing of.
const untyped: Flow = research;
const legacy = new Workflow<{ topic: string }, string>({ flow: untyped });
expectType<Equal<Awaited<ReturnType<typeof legacy.run>>, RunResult<string>>>();

// 17. Agents: input from dependsOn, output string, their HumanInput tools' questions at `<agent>/tool:<id>`.
const confirm = new HumanInput({ id: 'confirm', prompt: 'Send it?', schema: z.boolean() });
const writer = new Agent({ id: 'writer', dependsOn: [report], llm: new ScriptedLLM([]), tools: [confirm], prompt: (text) => `Rewrite: ${text}` });
expectType<Equal<InputOf<typeof writer>, string>>();
const agentic = new Workflow({ flow: new Flow({ id: 'agentic', nodes: [fetchDocs, count, report, writer] }) });
expectType<Equal<Awaited<ReturnType<typeof agentic.run>>['output'], string | undefined>>();
export async function agentAnswers(runId: string): Promise<void> {
  await agentic.resume({ runId, input: { 'writer/tool:confirm': true } });
  await agentic.resume({ runId, answers: [confirm.answer(false, { nodePath: 'writer/tool:confirm' })] });
  // @ts-expect-error Type 'string' is not assignable to type 'boolean'
  await agentic.resume({ runId, input: { 'writer/tool:confirm': 'yes' } });
}

// 18. Node schemas must agree with the node's types.
new FunctionNode({ id: 'len', run: (text: string) => text.length, outputSchema: z.number().int() });
// @ts-expect-error Type 'string' is not assignable to type 'number': the schema would change the output's type
new FunctionNode({ id: 'len2', run: (text: string) => text.length, outputSchema: z.number().transform(String) });
// @ts-expect-error the inputSchema's output (a number) is not the node's input (a string)
new FunctionNode({ id: 'len3', run: (text: string) => text.length, inputSchema: z.number() });

// 19. isInstance narrows to the class it is called on, with its own fields.
export function fields(error: unknown): unknown {
  if (InvalidRunInputError.isInstance(error)) return error.issues.map((issue) => issue.path);
  if (InvalidResumeInputError.isInstance(error)) return error.issues.map((issue) => issue.nodePath);
  if (RemovedByRetentionError.isInstance(error)) return error.setting;
  // @ts-expect-error a NotFoundError has no issues
  if (NotFoundError.isInstance(error)) return error.issues;
  return error;
}

// 20. Orchestrators: typed inputs, and their workers' / states' questions at their paths.
const plan = new LinearOrchestrator({ id: 'plan', dependsOn: [fetchDocs], manager: (docs) => docs, agents: [writer] });
expectType<Equal<InputOf<typeof plan>, string[]>>();
const graph = new GraphOrchestrator({ id: 'graph', dependsOn: [plan], start: 'review', states: { review: { node: approve } } });
const orchestrated = new Workflow({ flow: new Flow({ id: 'orchestrated', nodes: [fetchDocs, plan, graph] }) });
export async function orchestratedAnswers(runId: string): Promise<void> {
  await orchestrated.resume({ runId, input: { 'plan[2]/writer/tool:confirm': true, 'graph/review': { ok: true } } });
  // @ts-expect-error Type 'string' is not assignable to type 'boolean'
  await orchestrated.resume({ runId, input: { 'graph/review': { ok: 'yes' } } });
  // @ts-expect-error 'graph/approve' is not a path: a state's node asks at the state's name
  await orchestrated.resume({ runId, input: { 'graph/approve': { ok: true } } });
}
