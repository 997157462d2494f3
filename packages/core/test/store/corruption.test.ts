import { describe, expect, it } from '@jest/globals';
import { MemoryAdapter } from '../../src/adapters/memory-adapter.js';
import { CorruptCheckpointError, NotFoundError } from '../../src/errors.js';
import { hashOf } from '../../src/store/blob-tree.js';
import { CheckpointStore } from '../../src/store/checkpoint-store.js';
import { checkpoint, forgeHeader, headerBody, interceptingAdapter, node, rejection } from './helpers.js';

async function setup() {
  const inner = new MemoryAdapter();
  const tools = interceptingAdapter(inner);
  const writer = new CheckpointStore(inner);
  const cp = checkpoint({
    nodeStates: {
      agent: node('agent', { internalState: { messages: Array.from({ length: 40 }, (_, i) => ({ i, text: 't'.repeat(600) })) } }),
    },
  });
  await writer.save(cp);
  // a fresh store reads through the intercepting wrapper
  return { ...tools, inner, cp, reader: new CheckpointStore(tools.adapter) };
}

describe('corruption is detected on load', () => {
  it('a tampered blob -> CorruptCheckpointError naming the checkpoint', async () => {
    const { hooks, reader, cp } = await setup();
    let tampered = false;
    hooks.blobs = (_runId, found) => {
      const [hash, data] = [...found][0]!;
      found.set(hash, data.replace(/t/, 'T'));
      tampered = true;
    };
    const error = await rejection(reader.load(cp.id));
    expect(tampered).toBe(true);
    expect(CorruptCheckpointError.isInstance(error)).toBe(true);
    expect(error.message).toContain(cp.id);
    expect(error.message).toMatch(/does not match its hash/);
  });

  it('a truncated blob -> CorruptCheckpointError', async () => {
    const { hooks, reader, cp } = await setup();
    hooks.blobs = (_runId, found) => {
      for (const [hash, data] of found) found.set(hash, data.slice(0, data.length >> 1));
    };
    await expect(reader.load(cp.id)).rejects.toThrow(CorruptCheckpointError);
  });

  it('a missing blob -> CorruptCheckpointError', async () => {
    const { hooks, reader, cp } = await setup();
    let calls = 0;
    hooks.blobs = (_runId, found) => {
      calls += 1;
      if (calls === 2) found.delete([...found.keys()][0]!);
    };
    const error = await rejection(reader.load(cp.id));
    expect(CorruptCheckpointError.isInstance(error)).toBe(true);
    expect(error.message).toMatch(new RegExp(`Checkpoint ${cp.id} is corrupt: blob .* is missing`));
  });

  it('an unparsable or malformed header -> CorruptCheckpointError', async () => {
    const { hooks, reader, cp } = await setup();
    for (const body of ['{not json', '{}', 'null', JSON.stringify({ f: 1, id: 'other' }), JSON.stringify({ f: 99 })]) {
      hooks.header = (record) => ({ ...record, body });
      const error = await rejection(reader.load(cp.id));
      expect(CorruptCheckpointError.isInstance(error)).toBe(true);
      expect(error.message).toContain(cp.id);
    }
    hooks.header = (record) => forgeHeader(record, {}, { ...headerBody(record), f: 99 });
    await expect(reader.load(cp.id)).rejects.toThrow(/format 99/);
  });

  it('a blob that is not JSON, or has the wrong shape, -> CorruptCheckpointError', async () => {
    const { inner, cp } = await setup();
    const record = (await inner.getHeader(cp.id))!;
    const body = headerBody(record);
    const cases: Array<[string, string]> = [
      ['garbage{', 'not valid JSON'],
      ['[1,2]', 'malformed'], // a node state must be an object with `n`
      [JSON.stringify({ n: { nodeId: 'x' }, s: { $sp: 'arr', n: 40, l: 16, s: ['a'] } }), 'lists 1 segments'],
      [JSON.stringify({ n: { nodeId: 'x' }, s: { $sp: 'arr', n: 'x' } }), 'chunked array is malformed'],
      [JSON.stringify({ n: { nodeId: 'x' }, s: { $sp: 'ref' } }), 'reference has no hash'],
      [JSON.stringify({ n: { nodeId: 'x' }, s: { $sp: 'Date', v: 5 } }), 'Malformed encoded value'],
    ];
    let k = 0;
    for (const [data, message] of cases) {
      const hash = hashOf(data);
      await inner.putBlobs(cp.runId, [{ hash, data }]);
      const id = `${cp.id}-bad${(k += 1)}`;
      await inner.putHeader(forgeHeader(record, { id, seq: record.seq + k }, { ...body, id, seq: record.seq + k, nodes: { agent: hash } }));
      const error = await rejection(new CheckpointStore(inner).load(id));
      expect(CorruptCheckpointError.isInstance(error)).toBe(true);
      expect(error.message).toContain(message);
      expect(error.message).toContain(id);
    }
    // a segment of the wrong length
    const seg = JSON.stringify([1, 2, 3]);
    await inner.putBlobs(cp.runId, [{ hash: hashOf(seg), data: seg }]);
    const node = JSON.stringify({ n: { nodeId: 'x' }, s: { $sp: 'arr', n: 16, l: 16, s: [hashOf(seg)] } });
    await inner.putBlobs(cp.runId, [{ hash: hashOf(node), data: node }]);
    await inner.putHeader(forgeHeader(record, { id: 'seg-bad', seq: 99 }, { ...body, id: 'seg-bad', seq: 99, nodes: { agent: hashOf(node) } }));
    await expect(new CheckpointStore(inner).load('seg-bad')).rejects.toThrow(/should hold 16 entries/);
  });

  it('a missing checkpoint is NotFoundError, not corruption', async () => {
    const { reader } = await setup();
    await expect(reader.load('nope')).rejects.toThrow(NotFoundError);
  });
});
