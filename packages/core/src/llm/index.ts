export type {
  LLM,
  ChatMessage,
  SystemMessage,
  UserMessage,
  AssistantMessage,
  ToolMessage,
  ToolCall,
  ToolSpec,
  ChatRequest,
  ChatOptions,
  ChatResponse,
} from './types.js';
export { ScriptedLLM, type ScriptedReply, type ScriptedStep, type ScriptedResponder } from './scripted-llm.js';
export { OpenAICompatibleLLM, type OpenAICompatibleLLMOptions } from './openai-compatible-llm.js';
