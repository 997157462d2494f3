import { InvalidArgumentError, LLMRequestError } from '../errors.js';
import { retryDelayMs, sleep } from '../util/backoff.js';
import { readServerSentData } from './sse-reader.js';
import type { AssistantMessage, ChatMessage, ChatOptions, ChatRequest, ChatResponse, LLM, ToolCall } from './types.js';

export interface OpenAICompatibleLLMOptions {
  /** Defaults to env `OPENAI_BASE_URL`, then `https://api.openai.com/v1`. */
  baseUrl?: string;
  /** Defaults to env `OPENAI_API_KEY`; local servers often need none. */
  apiKey?: string;
  /** Defaults to env `OPENAI_MODEL`; required one way or the other. */
  model?: string;
  temperature?: number;
  /** Retries of a 429, a 5xx or a network error before giving up (default 3). */
  maxRetries?: number;
  /** First backoff delay, doubled per retry (default 500 ms). */
  retryBaseDelayMs?: number;
  /** Cap on any single wait, `Retry-After` included (default 20 s). */
  maxRetryDelayMs?: number;
  headers?: Record<string, string>;
  /** Where the defaults are read (default `process.env`). */
  env?: Record<string, string | undefined>;
}

const RETRYABLE = (status: number) => status === 429 || status >= 500;

/**
 * A chat-completions client for OpenAI and compatible servers (vLLM, Ollama, LM Studio, LiteLLM,
 * Azure-style gateways) over the built-in `fetch`: tool calls, SSE streaming when `onToken` is given,
 * `AbortSignal`, and bounded retries with backoff on 429/5xx that honour `Retry-After`.
 */
export class OpenAICompatibleLLM implements LLM {
  readonly baseUrl: string;
  readonly model: string;
  private readonly apiKey: string | undefined;
  private readonly options: OpenAICompatibleLLMOptions;

  constructor(options: OpenAICompatibleLLMOptions = {}) {
    const env = options.env ?? process.env;
    this.baseUrl = (options.baseUrl ?? env['OPENAI_BASE_URL'] ?? 'https://api.openai.com/v1').replace(/\/+$/, '');
    const model = options.model ?? env['OPENAI_MODEL'];
    if (!model) throw new InvalidArgumentError('OpenAICompatibleLLM needs a model: pass options.model or set OPENAI_MODEL.');
    this.model = model;
    this.apiKey = options.apiKey ?? env['OPENAI_API_KEY'];
    this.options = options;
  }

  async chat(request: ChatRequest, options: ChatOptions = {}): Promise<ChatResponse> {
    const stream = options.onToken !== undefined;
    const body = {
      model: this.model,
      messages: request.messages.map(toWireMessage),
      ...(request.tools?.length
        ? { tools: request.tools.map((t) => ({ type: 'function', function: { name: t.name, description: t.description, parameters: t.parameters } })) }
        : {}),
      ...(this.options.temperature === undefined ? {} : { temperature: this.options.temperature }),
      ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
    };
    const response = await this.send(body, options);
    try {
      return stream ? await readStream(response, options.onToken!) : parseCompletion((await response.json()) as WireCompletion);
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason;
      if (LLMRequestError.isInstance(error)) throw error;
      throw llmError(response.status, `the response from ${this.baseUrl} could not be read (${errorMessage(error)}); retry or resume the run`, error);
    }
  }

  /** POSTs with bounded retries; resolves with the first 2xx response. */
  private async send(body: unknown, options: ChatOptions): Promise<Response> {
    const { maxRetries = 3, retryBaseDelayMs = 500, maxRetryDelayMs = 20_000 } = this.options;
    const { signal } = options;
    const url = `${this.baseUrl}/chat/completions`;
    const init: RequestInit = { method: 'POST', headers: this.headersFor(options), body: JSON.stringify(body), ...(signal ? { signal } : {}) };
    for (let attempt = 0; ; attempt += 1) {
      let response: Response;
      try {
        response = await fetch(url, init);
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        if (attempt >= maxRetries) throw llmError(0, `${url} could not be reached (${errorMessage(error)}) after ${attempt + 1} attempts; check the base URL or resume the run later`, error);
        await sleep(retryDelayMs(attempt, null, { baseDelayMs: retryBaseDelayMs, maxDelayMs: maxRetryDelayMs }), signal);
        continue;
      }
      if (response.ok) return response;
      const detail = await response.text().catch(() => '');
      if (!RETRYABLE(response.status) || attempt >= maxRetries) {
        throw llmError(response.status, `${url} answered HTTP ${response.status}${attempt > 0 ? ` after ${attempt + 1} attempts` : ''}: ${errorDetail(detail)}; ${hintFor(response.status)}`);
      }
      const delay = retryDelayMs(attempt, response.headers.get('retry-after'), { baseDelayMs: retryBaseDelayMs, maxDelayMs: maxRetryDelayMs });
      await sleep(delay, signal);
    }
  }

  private headersFor(options: ChatOptions): Record<string, string> {
    return {
      'content-type': 'application/json',
      accept: options.onToken ? 'text/event-stream' : 'application/json',
      ...(this.apiKey ? { authorization: `Bearer ${this.apiKey}` } : {}),
      ...(options.idempotencyKey ? { 'idempotency-key': options.idempotencyKey } : {}),
      ...this.options.headers,
    };
  }
}

function toWireMessage(message: ChatMessage): Record<string, unknown> {
  switch (message.role) {
    case 'assistant':
      return {
        role: 'assistant',
        content: message.content === '' && message.toolCalls?.length ? null : message.content,
        ...(message.toolCalls?.length
          ? {
              tool_calls: message.toolCalls.map((tc) => ({
                id: tc.id,
                type: 'function',
                function: { name: tc.name, arguments: typeof tc.arguments === 'string' ? tc.arguments : JSON.stringify(tc.arguments) },
              })),
            }
          : {}),
      };
    case 'tool':
      return { role: 'tool', tool_call_id: message.toolCallId, content: message.content };
    default:
      return { role: message.role, content: message.content };
  }
}

interface WireToolCall {
  index?: number;
  id?: string;
  function?: { name?: string; arguments?: string };
}

interface WireChoice {
  message?: { content?: string | null; tool_calls?: WireToolCall[] };
  delta?: { content?: string | null; tool_calls?: WireToolCall[] };
  finish_reason?: string | null;
}

interface WireCompletion {
  choices?: WireChoice[];
  usage?: { prompt_tokens?: number; completion_tokens?: number };
}

function parseCompletion(json: WireCompletion): ChatResponse {
  const choice = json.choices?.[0];
  if (!choice?.message) throw llmError(200, 'the completion has no choices[0].message; is the base URL an OpenAI-compatible /v1 endpoint?');
  const calls = (choice.message.tool_calls ?? []).map((tc, i) => ({ id: tc.id ?? `call_${i}`, name: tc.function?.name ?? '', args: tc.function?.arguments ?? '' }));
  return respond(choice.message.content ?? '', calls, choice.finish_reason ?? undefined, json.usage);
}

async function readStream(response: Response, onToken: (delta: string) => void): Promise<ChatResponse> {
  if (!response.body) throw llmError(response.status, 'the streamed response has no body');
  let content = '';
  let finishReason: string | undefined;
  let usage: WireCompletion['usage'];
  const calls: Array<{ id: string; name: string; args: string }> = [];
  for await (const data of readServerSentData(response.body)) {
    if (data.trim() === '[DONE]') break;
    const chunk = JSON.parse(data) as WireCompletion;
    usage = chunk.usage ?? usage;
    const choice = chunk.choices?.[0];
    if (!choice) continue;
    finishReason = choice.finish_reason ?? finishReason;
    const delta = choice.delta ?? {};
    if (delta.content) {
      content += delta.content;
      onToken(delta.content);
    }
    // Tool calls arrive in pieces: the first delta of an index carries id and name, later ones append arguments.
    for (const part of delta.tool_calls ?? []) {
      const index = part.index ?? 0;
      const call = (calls[index] ??= { id: '', name: '', args: '' });
      if (part.id) call.id = part.id;
      if (part.function?.name) call.name += part.function.name;
      if (part.function?.arguments) call.args += part.function.arguments;
    }
  }
  return respond(content, calls.filter(Boolean).map((c, i) => ({ ...c, id: c.id || `call_${i}` })), finishReason, usage);
}

function respond(
  content: string,
  calls: ReadonlyArray<{ id: string; name: string; args: string }>,
  finishReason: string | undefined,
  usage: WireCompletion['usage'],
): ChatResponse {
  const message: AssistantMessage = { role: 'assistant', content };
  if (calls.length > 0) message.toolCalls = calls.map((c): ToolCall => ({ id: c.id, name: c.name, arguments: parseArguments(c.args) }));
  return {
    message,
    ...(finishReason ? { finishReason } : {}),
    ...(usage ? { usage: { promptTokens: usage.prompt_tokens ?? 0, completionTokens: usage.completion_tokens ?? 0 } } : {}),
  };
}

/** Models sometimes emit invalid JSON: keep the raw text, so the tool's schema check reports it back to the model. */
function parseArguments(text: string): unknown {
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function hintFor(status: number): string {
  if (status === 401 || status === 403) return 'check the API key (option apiKey or OPENAI_API_KEY)';
  if (status === 404) return 'check the base URL (OPENAI_BASE_URL) and the model name (OPENAI_MODEL)';
  if (RETRYABLE(status)) return 'the endpoint kept failing after the retries; resume the run later';
  return 'fix the request (model, messages, tools) and resume the run';
}

function errorDetail(body: string): string {
  try {
    const message = (JSON.parse(body) as { error?: { message?: unknown } }).error?.message;
    if (typeof message === 'string') return message;
  } catch {
    /* not JSON: use the text */
  }
  return body.slice(0, 300) || '(empty body)';
}

function llmError(status: number, message: string, cause?: unknown): InstanceType<typeof LLMRequestError> {
  const error = new LLMRequestError(`LLM request failed: ${message}.`, cause === undefined ? {} : { cause });
  error.status = status;
  return error;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
