/** A tool invocation the model asked for; `arguments` is the parsed JSON (the raw text when it did not parse). */
export interface ToolCall {
  id: string;
  name: string;
  arguments: unknown;
}

export interface SystemMessage {
  role: 'system';
  content: string;
}

export interface UserMessage {
  role: 'user';
  content: string;
}

export interface AssistantMessage {
  role: 'assistant';
  content: string;
  toolCalls?: readonly ToolCall[];
}

export interface ToolMessage {
  role: 'tool';
  /** The tool's output as text (JSON for structured values). */
  content: string;
  toolCallId: string;
  name: string;
}

export type ChatMessage = SystemMessage | UserMessage | AssistantMessage | ToolMessage;

/** A tool as the model sees it: `parameters` is the JSON Schema of its arguments. */
export interface ToolSpec {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

export interface ChatRequest {
  messages: readonly ChatMessage[];
  tools?: readonly ToolSpec[];
}

export interface ChatOptions {
  signal?: AbortSignal;
  /** Receives the answer's text as it is generated; implementations stream when it is given. */
  onToken?: (delta: string) => void;
  /** Stable for every retry and resume of this call; sent as `Idempotency-Key` by HTTP clients. */
  idempotencyKey?: string;
}

export interface ChatResponse {
  message: AssistantMessage;
  /** As reported by the model, e.g. `stop`, `tool_calls`, `length`. */
  finishReason?: string;
  usage?: { promptTokens: number; completionTokens: number };
}

/** A chat model. `Agent`, the orchestrators' managers and routers all talk to one of these. */
export interface LLM {
  chat(request: ChatRequest, options?: ChatOptions): Promise<ChatResponse>;
}
