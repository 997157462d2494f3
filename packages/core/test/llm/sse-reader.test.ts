import { describe, expect, it } from '@jest/globals';
import { readServerSentData } from '../../src/llm/sse-reader.js';

async function* chunks(...parts: string[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) yield new TextEncoder().encode(part);
}

async function collect(body: AsyncIterable<Uint8Array>): Promise<string[]> {
  const out: string[] = [];
  for await (const data of readServerSentData(body)) out.push(data);
  return out;
}

describe('readServerSentData', () => {
  it('joins events split across chunks, handles CRLF and multi-line data, ignores other fields', async () => {
    const euro = new TextEncoder().encode('€');
    async function* body(): AsyncGenerator<Uint8Array> {
      yield* chunks(': keep-alive\n\nevent: message\nid: 1\ndata: {"a"', ':1}\r\n\r\ndata: line one\ndata:line two\n\ndata: ');
      yield euro.slice(0, 1);
      yield euro.slice(1);
      yield* chunks('\n\ndata: [DONE]');
    }
    expect(await collect(body())).toEqual(['{"a":1}', 'line one\nline two', '€', '[DONE]']);
  });
});
