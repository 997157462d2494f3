// The web demo's workflow: one agent that researches a topic with a tool, streams its answer and asks
// the user to approve it through a HumanInput tool before "publishing" it.
import {
  Agent,
  Flow,
  HumanInput,
  OpenAICompatibleLLM,
  ScriptedLLM,
  Workflow,
  tool,
  type ChatMessage,
  type ChatOptions,
  type ChatRequest,
  type ChatResponse,
  type LLM,
  type StorageAdapter,
} from '@savepoint/core';
import { z } from 'zod';

export const WORKFLOW_NAME = 'chat';
/** Where the approval waits: the agent `assistant` calling its tool `approve`. */
export const APPROVAL_PATH = 'assistant/tool:approve';

export const approvalSchema = z.object({
  approved: z.boolean(),
  note: z.string().max(500).optional(),
});

export const chatInputSchema = z.object({ topic: z.string().trim().min(1).max(200) });
export type ChatInput = z.infer<typeof chatInputSchema>;

export interface ChatWorkflowOptions {
  /** The model; default: the scripted one (no network). */
  llm?: LLM;
  /** Pause between streamed tokens of the scripted model, so a person can watch them arrive (default 40 ms). */
  tokenDelayMs?: number;
  /** Simulated latency of the search tool (default 600 ms). */
  searchDelayMs?: number;
}

const SYSTEM = [
  'You are a research assistant in a demo of durable workflows.',
  'For the topic the user gives: call `search` once, then write a short answer of three to five sentences',
  'and call `approve` with that answer as `draft`. After the approval result, reply with one sentence that',
  'says whether the answer was published (approved) or kept as a draft (rejected, mention the note if any).',
].join(' ');

/** The topic from the workflow input (defensive: the HTTP API accepts any JSON). */
export function topicOf(input: unknown): string {
  const parsed = chatInputSchema.safeParse(input);
  if (parsed.success) return parsed.data.topic;
  return typeof input === 'string' && input.trim() ? input.trim().slice(0, 200) : 'an unnamed topic';
}

/** Deterministic "findings" for a topic: what the fake search engine returns. */
export function findingsFor(topic: string): string[] {
  return [
    `${topic} drew twice as much investment this year as last year`,
    `costs in ${topic} fell by about a third since 2022`,
    `two of three surveyed teams plan to adopt ${topic} within a year`,
  ];
}

export function draftFor(topic: string, findings: readonly string[]): string {
  return (
    `Here is what I found about ${topic}. ` +
    `First, ${findings[0] ?? 'interest is growing'}. ` +
    `Second, ${findings[1] ?? 'costs are falling'}. ` +
    `Finally, ${findings[2] ?? 'adoption is planned'}. ` +
    `In short, ${topic} is moving fast and the sources agree on the trend.`
  );
}

/**
 * The scripted model. It answers from the conversation, not from a call counter, because one model
 * serves every run (and resumes and forks of them): turn 1 searches, turn 2 streams a draft and asks
 * for approval, turn 3 reports the decision.
 */
export function scriptedModel(): ScriptedLLM {
  return new ScriptedLLM((request: ChatRequest) => {
    const messages = request.messages;
    const topic = topicFromPrompt(messages);
    const turn = messages.filter((m) => m.role === 'assistant').length + 1;
    const lastTool = [...messages].reverse().find((m): m is Extract<ChatMessage, { role: 'tool' }> => m.role === 'tool');
    if (turn === 1) {
      return { content: `Let me research ${topic} first.`, toolCalls: [{ name: 'search', arguments: { query: topic } }] };
    }
    if (lastTool?.name === 'search') {
      const findings = parseJson<{ findings?: string[] }>(lastTool.content)?.findings ?? findingsFor(topic);
      const draft = draftFor(topic, findings);
      return { content: draft, toolCalls: [{ name: 'approve', arguments: { draft } }] };
    }
    const answer = parseJson<{ approved?: boolean; note?: string }>(lastTool?.content ?? '') ?? {};
    if (answer.approved) return `Approved: the answer about ${topic} is published.`;
    return `Rejected: the answer about ${topic} stays a draft${answer.note ? ` (note: ${answer.note})` : ''}.`;
  });
}

function topicFromPrompt(messages: readonly ChatMessage[]): string {
  const first = messages.find((m) => m.role === 'user')?.content ?? '';
  return /^Research "(.*)" and/s.exec(first)?.[1] ?? 'the topic';
}

function parseJson<T>(text: string): T | undefined {
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Replays a model's tokens at a human pace (the scripted model produces them all at once). */
export class PacedLLM implements LLM {
  constructor(
    private readonly inner: LLM,
    private readonly delayMs: number,
  ) {}

  async chat(request: ChatRequest, options: ChatOptions = {}): Promise<ChatResponse> {
    const { onToken, ...rest } = options;
    if (!onToken || this.delayMs <= 0) return this.inner.chat(request, options);
    const tokens: string[] = [];
    const response = await this.inner.chat(request, { ...rest, onToken: (delta) => tokens.push(delta) });
    for (const token of tokens) {
      await sleep(this.delayMs, options.signal);
      onToken(token);
    }
    return response;
  }
}

/** `OpenAICompatibleLLM` when `OPENAI_BASE_URL` or `OPENAI_API_KEY` is set, else the scripted model. */
export function modelFromEnv(env: NodeJS.ProcessEnv = process.env): { llm: LLM; label: string; scripted: boolean } {
  if (env['OPENAI_BASE_URL'] || env['OPENAI_API_KEY']) {
    const llm = new OpenAICompatibleLLM({ env, model: env['OPENAI_MODEL'] || 'gpt-4o-mini' });
    return { llm, label: `${llm.model} at ${llm.baseUrl}`, scripted: false };
  }
  return { llm: scriptedModel(), label: 'scripted model (no network)', scripted: true };
}

export function chatWorkflow(backend: StorageAdapter, options: ChatWorkflowOptions = {}): Workflow<ChatInput, string> {
  const { tokenDelayMs = 40, searchDelayMs = 600 } = options;
  const llm = options.llm ?? new PacedLLM(scriptedModel(), tokenDelayMs);

  const search = tool({
    name: 'search',
    description: 'Searches the web for recent findings about a topic. Returns a few findings.',
    schema: z.object({ query: z.string().min(1).max(200) }),
    run: async ({ query }, ctx) => {
      await sleep(searchDelayMs, ctx.signal);
      const result = { query, findings: findingsFor(query) };
      // A custom event: the page shows the tool call in the conversation.
      ctx.emit('tool_result', { tool: 'search', arguments: { query }, result });
      return result;
    },
  });

  const approve = new HumanInput({
    id: 'approve',
    description: 'Asks the user to approve the draft answer before it is published. Call it once, with the full draft.',
    argsSchema: z.object({ draft: z.string().min(1).max(4000) }),
    prompt: ({ draft }: { draft: string }) => `Publish this answer?\n\n${draft}`,
    schema: approvalSchema,
  });

  const assistant = new Agent<unknown>({
    id: 'assistant',
    llm,
    tools: [search, approve],
    system: SYSTEM,
    prompt: (input) => `Research "${topicOf(input)}" and write a short answer.`,
    maxLoops: 6,
  });

  return new Workflow<ChatInput, string>({
    id: WORKFLOW_NAME,
    flow: new Flow({ id: WORKFLOW_NAME, nodes: [assistant] }),
    // Keep a deep history per flow so the checkpoint timeline of recent runs stays complete.
    checkpoint: { enabled: true, backend, maxCheckpointsPerRun: 1000 },
  });
}
