import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InvalidArgumentError, LLMRequestError, OpenAICompatibleLLM, type ChatRequest } from '../../src/index.js';

type Handler = (req: IncomingMessage, body: any, res: ServerResponse) => void;

/** A local server speaking the chat-completions protocol; each test queues one handler per expected request. */
let server: Server;
let baseUrl: string;
let handlers: Handler[];
let received: Array<{ headers: IncomingMessage['headers']; body: any }>;

beforeAll(async () => {
  server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    req.on('end', () => {
      const body = JSON.parse(raw || '{}');
      received.push({ headers: req.headers, body });
      const handler = handlers.shift();
      if (!handler) return void res.writeHead(500).end('no handler queued');
      handler(req, body, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  handlers = [];
  received = [];
});

const json = (status: number, payload: unknown, headers: Record<string, string> = {}): Handler => (_req, _body, res) =>
  void res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(payload));

const completion = (message: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  choices: [{ index: 0, message: { role: 'assistant', ...message }, finish_reason: message['tool_calls'] ? 'tool_calls' : 'stop' }],
  ...extra,
});

const client = (options: ConstructorParameters<typeof OpenAICompatibleLLM>[0] = {}) =>
  new OpenAICompatibleLLM({ baseUrl, model: 'test-model', apiKey: 'sk-test', retryBaseDelayMs: 1, env: {}, ...options });

const request: ChatRequest = {
  messages: [
    { role: 'system', content: 'be brief' },
    { role: 'user', content: 'add 1 and 2' },
    { role: 'assistant', content: '', toolCalls: [{ id: 'call_a', name: 'add', arguments: { a: 1, b: 2 } }] },
    { role: 'tool', toolCallId: 'call_a', name: 'add', content: '3' },
  ],
  tools: [{ name: 'add', description: 'Adds', parameters: { type: 'object', properties: { a: { type: 'number' } } } }],
};

describe('OpenAICompatibleLLM', () => {
  it('sends the chat-completions wire format and parses text, tool calls and usage', async () => {
    handlers.push(
      json(
        200,
        completion(
          { content: null, tool_calls: [{ id: 'call_b', type: 'function', function: { name: 'add', arguments: '{"a":3,"b":4}' } }, { id: 'call_c', type: 'function', function: { name: 'add', arguments: '{oops' } }] },
          { usage: { prompt_tokens: 12, completion_tokens: 5 } },
        ),
      ),
    );
    const response = await client({ temperature: 0 }).chat(request, { idempotencyKey: 'run-1:agent:loop2' });
    expect(response).toEqual({
      message: {
        role: 'assistant',
        content: '',
        toolCalls: [
          { id: 'call_b', name: 'add', arguments: { a: 3, b: 4 } },
          { id: 'call_c', name: 'add', arguments: '{oops' },
        ],
      },
      finishReason: 'tool_calls',
      usage: { promptTokens: 12, completionTokens: 5 },
    });
    const [sent] = received;
    expect(sent!.headers['authorization']).toBe('Bearer sk-test');
    expect(sent!.headers['idempotency-key']).toBe('run-1:agent:loop2');
    expect(sent!.body).toEqual({
      model: 'test-model',
      temperature: 0,
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'add 1 and 2' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_a', type: 'function', function: { name: 'add', arguments: '{"a":1,"b":2}' } }] },
        { role: 'tool', tool_call_id: 'call_a', content: '3' },
      ],
      tools: [{ type: 'function', function: { name: 'add', description: 'Adds', parameters: { type: 'object', properties: { a: { type: 'number' } } } } }],
    });
  });

  it('retries a 429 after its Retry-After and a 503, then succeeds', async () => {
    handlers.push(json(429, { error: { message: 'slow down' } }, { 'retry-after': '0' }), json(503, { error: { message: 'busy' } }), json(200, completion({ content: 'ok' })));
    const response = await client().chat({ messages: [{ role: 'user', content: 'hi' }] });
    expect(response.message).toEqual({ role: 'assistant', content: 'ok' });
    expect(received).toHaveLength(3);
  });

  it('gives up after maxRetries with a typed error, and never retries a 400', async () => {
    for (let i = 0; i < 3; i++) handlers.push(json(500, { error: { message: 'boom' } }));
    const exhausted = client({ maxRetries: 2 }).chat({ messages: [{ role: 'user', content: 'hi' }] });
    await expect(exhausted).rejects.toThrow(/HTTP 500 after 3 attempts: boom; .*resume the run later/);
    await expect(exhausted.catch((e: InstanceType<typeof LLMRequestError>) => e.status)).resolves.toBe(500);
    expect(received).toHaveLength(3);

    received = [];
    handlers.push(json(400, { error: { message: 'bad model' } }));
    const refused = client().chat({ messages: [{ role: 'user', content: 'hi' }] });
    await expect(refused).rejects.toThrow(LLMRequestError);
    await expect(refused).rejects.toThrow(/HTTP 400: bad model; fix the request/);
    expect(received).toHaveLength(1);

    handlers.push((_req, _body, res) => void res.writeHead(401).end('nope'));
    await expect(client().chat({ messages: [{ role: 'user', content: 'hi' }] })).rejects.toThrow(/HTTP 401: nope; check the API key/);
    handlers.push((_req, _body, res) => void res.writeHead(404).end());
    await expect(client().chat({ messages: [{ role: 'user', content: 'hi' }] })).rejects.toThrow(/\(empty body\); check the base URL/);
  });

  it('streams text deltas to onToken and assembles streamed tool-call deltas', async () => {
    handlers.push((_req, body, res) => {
      expect(body.stream).toBe(true);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const events = [
        { choices: [{ delta: { role: 'assistant', content: 'Let me ' } }] },
        { choices: [{ delta: { content: 'check.' } }] },
        { choices: [{ delta: { tool_calls: [{ index: 0, id: 'call_s', type: 'function', function: { name: 'search', arguments: '' } }] } }] },
        { choices: [{ delta: { tool_calls: [{ index: 0, function: { arguments: '{"q":"sav' } }] } }] },
        { choices: [{ delta: { tool_calls: [{ index: 1, id: 'call_t', function: { name: 'time', arguments: '{}' } }] } }] },
        { choices: [{ delta: { tool_calls: [{ index: 0, function: { arguments: 'epoint"}' } }] } }] },
        { choices: [{ delta: {}, finish_reason: 'tool_calls' }] },
        { choices: [], usage: { prompt_tokens: 9, completion_tokens: 4 } },
      ];
      const text = events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join('') + 'data: [DONE]\n\n';
      // Split mid-event to prove the reader reassembles lines across network chunks.
      res.write(text.slice(0, 70));
      setTimeout(() => res.end(text.slice(70)), 5);
    });
    const tokens: string[] = [];
    const response = await client().chat({ messages: [{ role: 'user', content: 'search' }] }, { onToken: (t) => tokens.push(t) });
    expect(tokens).toEqual(['Let me ', 'check.']);
    expect(received[0]!.headers['accept']).toBe('text/event-stream');
    expect(response).toEqual({
      message: {
        role: 'assistant',
        content: 'Let me check.',
        toolCalls: [
          { id: 'call_s', name: 'search', arguments: { q: 'savepoint' } },
          { id: 'call_t', name: 'time', arguments: {} },
        ],
      },
      finishReason: 'tool_calls',
      usage: { promptTokens: 9, completionTokens: 4 },
    });
  });

  it('aborts a request in flight and a stream being read, without retrying', async () => {
    let hung: ServerResponse | undefined;
    handlers.push((_req, _body, res) => void (hung = res));
    const controller = new AbortController();
    const pending = client().chat({ messages: [{ role: 'user', content: 'hi' }] }, { signal: controller.signal });
    while (!hung) await new Promise((r) => setTimeout(r, 2));
    controller.abort(new Error('user canceled'));
    await expect(pending).rejects.toThrow('user canceled');
    expect(received).toHaveLength(1);

    const streaming = new AbortController();
    handlers.push((_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`data: ${JSON.stringify({ choices: [{ delta: { content: 'partial' } }] })}\n\n`);
    });
    const tokens: string[] = [];
    const stream = client().chat({ messages: [{ role: 'user', content: 'hi' }] }, { signal: streaming.signal, onToken: (t) => (tokens.push(t), streaming.abort(new Error('stop streaming'))) });
    await expect(stream).rejects.toThrow('stop streaming');
    expect(tokens).toEqual(['partial']);
  });

  it('retries network errors, then reports the endpoint unreachable', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const unreachable = client({ baseUrl: `http://127.0.0.1:${port}/v1/`, maxRetries: 1 }).chat({ messages: [{ role: 'user', content: 'hi' }] });
    await expect(unreachable).rejects.toThrow(/could not be reached .* after 2 attempts/);
    await expect(unreachable.catch((e: InstanceType<typeof LLMRequestError>) => e.status)).resolves.toBe(0);
  });

  it('rejects a response that is not a chat completion', async () => {
    handlers.push(json(200, { object: 'list', data: [] }));
    await expect(client().chat({ messages: [{ role: 'user', content: 'hi' }] })).rejects.toThrow(/no choices\[0\]\.message/);
    handlers.push((_req, _body, res) => void res.writeHead(200, { 'content-type': 'application/json' }).end('{not json'));
    await expect(client().chat({ messages: [{ role: 'user', content: 'hi' }] })).rejects.toThrow(/could not be read/);
  });

  it('reads base URL, key and model from the environment; a model is required', async () => {
    const fromEnv = new OpenAICompatibleLLM({ env: { OPENAI_BASE_URL: `${baseUrl}/`, OPENAI_API_KEY: 'sk-env', OPENAI_MODEL: 'env-model' } });
    expect(fromEnv).toMatchObject({ baseUrl, model: 'env-model' });
    handlers.push(json(200, completion({ content: 'from env' })));
    expect((await fromEnv.chat({ messages: [{ role: 'user', content: 'hi' }] })).message.content).toBe('from env');
    expect(received[0]!.headers['authorization']).toBe('Bearer sk-env');
    expect(received[0]!.body.model).toBe('env-model');

    const keyless = new OpenAICompatibleLLM({ baseUrl, model: 'local', env: {} });
    handlers.push(json(200, completion({ content: 'no key' })));
    await keyless.chat({ messages: [{ role: 'user', content: 'hi' }] });
    expect(received[1]!.headers['authorization']).toBeUndefined();

    expect(new OpenAICompatibleLLM({ model: 'm', env: {} }).baseUrl).toBe('https://api.openai.com/v1');
    expect(() => new OpenAICompatibleLLM({ env: {} })).toThrow(InvalidArgumentError);
    expect(() => new OpenAICompatibleLLM({ env: {} })).toThrow(/OPENAI_MODEL/);
  });
});
