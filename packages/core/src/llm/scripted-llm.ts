import { InvalidArgumentError } from '../errors.js';
import type { AssistantMessage, ChatOptions, ChatRequest, ChatResponse, LLM, ToolCall } from './types.js';

/** A scripted answer: text, tool calls (ids default to `call_<turn>_<i>`), or both. */
export interface ScriptedReply {
  content?: string;
  toolCalls?: ReadonlyArray<{ name: string; arguments?: unknown; id?: string }>;
}

/** What one call returns: a reply, plain text, or an `Error` to throw (an injected failure). */
export type ScriptedStep = string | ScriptedReply | Error;

/** Decides the step of call `call` (1-based) from the request; may wait (a slow or hanging model). */
export type ScriptedResponder = (request: ChatRequest, call: number) => ScriptedStep | Promise<ScriptedStep>;

/**
 * A deterministic `LLM` for tests and demos. Steps are played in order (an array) or computed per
 * request (a function: useful when concurrent callers must get answers that depend on their input).
 * Text is streamed word by word to `onToken`; an `Error` step is thrown; an aborted signal rejects.
 */
export class ScriptedLLM implements LLM {
  /** Calls made so far, failed ones included. */
  calls = 0;
  /** Every request received, in order. */
  readonly requests: ChatRequest[] = [];
  private readonly responder: ScriptedResponder;

  constructor(script: readonly ScriptedStep[] | ScriptedResponder) {
    this.responder =
      typeof script === 'function'
        ? script
        : (_request, call) => {
            if (call > script.length) {
              throw new InvalidArgumentError(`ScriptedLLM: call ${call} has no scripted step (the script has ${script.length}); add steps.`);
            }
            return script[call - 1]!;
          };
  }

  async chat(request: ChatRequest, options: ChatOptions = {}): Promise<ChatResponse> {
    const call = ++this.calls;
    this.requests.push(request);
    const { signal, onToken } = options;
    signal?.throwIfAborted();
    const step = await abortable(Promise.resolve(this.responder(request, call)), signal);
    if (step instanceof Error) throw step;
    const reply = typeof step === 'string' ? { content: step } : step;
    const message: AssistantMessage = { role: 'assistant', content: reply.content ?? '' };
    if (reply.toolCalls?.length) {
      // Ids follow the conversation's turn, not the call count, so a retried turn gets the ids it would have had.
      const turn = request.messages.filter((m) => m.role === 'assistant').length + 1;
      message.toolCalls = reply.toolCalls.map(
        (tc, i): ToolCall => ({ id: tc.id ?? `call_${turn}_${i}`, name: tc.name, arguments: tc.arguments ?? {} }),
      );
    }
    if (onToken) for (const token of message.content.match(/\s*\S+/g) ?? []) onToken(token);
    return { message, finishReason: message.toolCalls ? 'tool_calls' : 'stop' };
  }
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
