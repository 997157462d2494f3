import { describe, expect, it } from '@jest/globals';
import { MemoryAdapter, ScriptedLLM, type ChatRequest } from '@savepoint/core';
import { APPROVAL_PATH, chatWorkflow, modelFromEnv, PacedLLM, scriptedModel } from '../src/chat-workflow.js';

const fast = { tokenDelayMs: 0, searchDelayMs: 0 };

describe('the chat workflow (scripted model)', () => {
  it('researches with a tool, streams a draft, waits for approval and publishes once approved', async () => {
    const workflow = chatWorkflow(new MemoryAdapter(), fast);
    const chunks: string[] = [];
    const tools: unknown[] = [];
    workflow.on('stream_chunk', (e) => chunks.push((e.data as { delta: string }).delta));
    workflow.on('tool_result', (e) => tools.push(e.data));

    const paused = await workflow.run({ topic: 'solar storage' });
    expect(paused.status).toBe('pending_input');
    expect(paused.pendingInputs.map((p) => p.nodePath)).toEqual([APPROVAL_PATH]);
    expect(paused.pendingInputs[0]!.prompt).toMatch(/^Publish this answer\?\n\nHere is what I found about solar storage\./);
    expect(tools).toEqual([expect.objectContaining({ tool: 'search', arguments: { query: 'solar storage' } })]);
    expect(chunks.length).toBeGreaterThan(10); // token by token, not one block
    expect(chunks.join('')).toContain('In short, solar storage is moving fast');

    const done = await workflow.resume({ runId: paused.runId, input: { [APPROVAL_PATH]: { approved: true } } });
    expect(done.status).toBe('success');
    expect(done.output).toBe('Approved: the answer about solar storage is published.');
    expect(tools).toHaveLength(1); // the search is not run again on resume
  });

  it('a fork from the waiting checkpoint asks again, and a rejection with a note keeps a draft', async () => {
    const workflow = chatWorkflow(new MemoryAdapter(), fast);
    const paused = await workflow.run({ topic: 'heat pumps' });
    await workflow.resume({ runId: paused.runId, input: { [APPROVAL_PATH]: { approved: true } } });

    const forked = await workflow.resume({ checkpointId: paused.checkpointId! });
    expect(forked.runId).not.toBe(paused.runId);
    expect(forked.status).toBe('pending_input');
    const done = await workflow.resume({ runId: forked.runId, input: { [APPROVAL_PATH]: { approved: false, note: 'needs sources' } } });
    expect(done.output).toBe('Rejected: the answer about heat pumps stays a draft (note: needs sources).');
  });

  it('refuses a malformed answer without changing the run', async () => {
    const workflow = chatWorkflow(new MemoryAdapter(), fast);
    const paused = await workflow.run({ topic: 'tidal power' });
    await expect(workflow.resume({ runId: paused.runId, input: { [APPROVAL_PATH]: { approved: 'yes' } } })).rejects.toThrow(/rejected/);
    expect((await workflow.getLatestCheckpoint({ runId: paused.runId }))?.id).toBe(paused.checkpointId);
  });

  it('tolerates input that is not a topic object', async () => {
    const workflow = chatWorkflow(new MemoryAdapter(), fast);
    const paused = await workflow.run('  wind  ' as never);
    expect(paused.pendingInputs[0]!.prompt).toContain('Here is what I found about wind.');
  });
});

describe('models', () => {
  it('PacedLLM passes every token through, in order, and the reply unchanged', async () => {
    const inner = new ScriptedLLM(['one two three']);
    const tokens: string[] = [];
    const reply = await new PacedLLM(inner, 1).chat({ messages: [{ role: 'user', content: 'hi' }] }, { onToken: (t) => tokens.push(t) });
    expect(tokens).toEqual(['one', ' two', ' three']);
    expect(reply.message.content).toBe('one two three');
  });

  it('the scripted model answers from the conversation, not from a call counter', async () => {
    const llm = scriptedModel();
    const request: ChatRequest = { messages: [{ role: 'user', content: 'Research "x" and write a short answer.' }] };
    const a = await llm.chat(request);
    const b = await llm.chat(request);
    expect(a.message).toEqual(b.message);
    expect(a.message.toolCalls?.[0]).toMatchObject({ name: 'search', arguments: { query: 'x' } });
  });

  it('uses an OpenAI-compatible model only when OPENAI_BASE_URL or OPENAI_API_KEY is set', () => {
    expect(modelFromEnv({}).scripted).toBe(true);
    const real = modelFromEnv({ OPENAI_BASE_URL: 'http://127.0.0.1:11434/v1/', OPENAI_MODEL: 'llama3.2' });
    expect(real.scripted).toBe(false);
    expect(real.label).toBe('llama3.2 at http://127.0.0.1:11434/v1');
    expect(modelFromEnv({ OPENAI_API_KEY: 'k' }).label).toMatch(/^gpt-4o-mini at https:\/\/api\.openai\.com\/v1$/);
  });
});
