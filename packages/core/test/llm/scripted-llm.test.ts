import { describe, expect, it } from '@jest/globals';
import { InvalidArgumentError, ScriptedLLM } from '../../src/index.js';

const user = (content: string) => ({ messages: [{ role: 'user' as const, content }] });

describe('ScriptedLLM', () => {
  it('plays steps in order: text, tool calls with turn-based ids, injected failures', async () => {
    const llm = new ScriptedLLM(['hello there', { toolCalls: [{ name: 'add', arguments: { a: 1 } }, { name: 'ping' }] }, new Error('overloaded')]);
    expect(await llm.chat(user('hi'))).toEqual({ message: { role: 'assistant', content: 'hello there' }, finishReason: 'stop' });
    const second = await llm.chat({ messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello there' }] });
    expect(second).toEqual({
      message: {
        role: 'assistant',
        content: '',
        toolCalls: [
          { id: 'call_2_0', name: 'add', arguments: { a: 1 } },
          { id: 'call_2_1', name: 'ping', arguments: {} },
        ],
      },
      finishReason: 'tool_calls',
    });
    await expect(llm.chat(user('again'))).rejects.toThrow('overloaded');
    await expect(llm.chat(user('more'))).rejects.toThrow(InvalidArgumentError);
    expect(llm.calls).toBe(4);
    expect(llm.requests[0]).toEqual(user('hi'));
  });

  it('streams the text word by word to onToken', async () => {
    const tokens: string[] = [];
    const llm = new ScriptedLLM(['The answer is 42.']);
    const response = await llm.chat(user('q'), { onToken: (t) => tokens.push(t) });
    expect(tokens).toEqual(['The', ' answer', ' is', ' 42.']);
    expect(tokens.join('')).toBe(response.message.content);
  });

  it('computes steps from the request and rejects when aborted, also while waiting', async () => {
    const llm = new ScriptedLLM((request, call) => `${call}:${request.messages[0]!.content}`);
    expect((await llm.chat(user('a'))).message.content).toBe('1:a');

    const aborted = new AbortController();
    aborted.abort(new Error('stop now'));
    await expect(llm.chat(user('b'), { signal: aborted.signal })).rejects.toThrow('stop now');

    const never = new ScriptedLLM(() => new Promise<string>(() => undefined));
    const controller = new AbortController();
    const pending = never.chat(user('c'), { signal: controller.signal });
    controller.abort(new Error('canceled by user'));
    await expect(pending).rejects.toThrow('canceled by user');
  });
});
