import { describe, expect, it } from '@jest/globals';
import { MemoryAdapter } from '../../src/adapters/memory-adapter.js';
import { Codec, TAG } from '../../src/codec/index.js';
import { UnserializableStateError } from '../../src/errors.js';
import type { FlowCheckpoint } from '../../src/models/checkpoint.js';
import { CheckpointStore } from '../../src/store/checkpoint-store.js';
import { checkpoint, next, node } from './helpers.js';

function everyField(): FlowCheckpoint {
  const big = 'x'.repeat(5000);
  return checkpoint({
    flowId: 'research',
    workflowId: 'wf-1',
    runId: 'run-all',
    tenantId: 'tenant-a',
    status: 'pending_input',
    traceContext: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', tracestate: 'k=v' },
    nodeStates: {
      fetch: node('fetch', {
        input: { query: 'q', at: new Date(1) },
        output: { docs: Array.from({ length: 40 }, (_, i) => ({ i, text: `doc ${i}`.repeat(20) })), big },
        startedAt: new Date(1000),
        completedAt: new Date(2000),
        stateVersion: 2,
      }),
      agent: node('agent', {
        nodeType: 'agent',
        status: 'pending_input',
        attempt: 2,
        internalState: {
          loop: 3,
          messages: Array.from({ length: 37 }, (_, i) => ({ role: 'user', content: i % 5 === 0 ? big : `m${i}` })),
          cache: new Map<unknown, unknown>([['k', new Set([1n, 2n])], [1, Buffer.from('bytes')]]),
          nums: [Number.NaN, Number.POSITIVE_INFINITY, -0, undefined],
          vector: Array.from({ length: 300 }, (_, i) => i / 7),
          nested: [[Array.from({ length: 20 }, (_, i) => ({ deep: i }))]],
          tagLike: { [TAG]: 'ref', h: 'not-a-hash' },
          tagLikeList: Array.from({ length: 20 }, () => ({ [TAG]: 'arr', n: 1, s: [] })),
        },
      }),
      failed: node('failed', { status: 'failure', error: { name: 'TypeError', message: 'boom', code: 'E1' } }),
      'odd id/with space': node('odd id/with space', { status: 'skip', output: undefined }),
    },
    completedNodeIds: ['fetch', 'failed'],
    pendingNodeIds: ['agent'],
    originalInput: { query: 'AI', when: new Date(5), list: Array.from({ length: 50 }, (_, i) => i), n: 10n },
    originalConfig: { model: 'gpt', temperature: 0.2 },
    pendingInputs: [
      {
        nodePath: 'agent/tool:approve',
        prompt: 'Publish?',
        schema: { type: 'object', properties: { ok: { type: 'boolean' } } },
        requestedAt: new Date(3000),
        expiresAt: new Date(4000),
        metadata: { draft: 'text', when: new Date(7) },
      },
      { nodePath: 'map-1[3]/approve', prompt: 'Again?', schema: {}, requestedAt: new Date(3001), metadata: {} },
    ],
    metadata: { user: 'u1', tags: new Set(['a']), huge: 'y'.repeat(1000) },
  });
}

describe('CheckpointStore round trip', () => {
  it('restores every FlowCheckpoint field', async () => {
    const store = new CheckpointStore(new MemoryAdapter());
    const original = everyField();
    await store.save(original);
    const loaded = await store.load(original.id);
    expect(loaded).toEqual(original);
    expect(Object.keys(loaded.nodeStates).sort()).toEqual(Object.keys(original.nodeStates).sort());
    expect(Buffer.isBuffer((loaded.nodeStates.agent!.internalState as { cache: Map<number, Buffer> }).cache.get(1))).toBe(true);
    expect(Object.hasOwn(loaded.nodeStates['odd id/with space']!, 'output')).toBe(true);
    expect(Object.hasOwn(loaded.nodeStates.failed!, 'output')).toBe(false);
    // a fresh store (no caches) reads the same
    const fresh = new CheckpointStore(store.adapter);
    expect(await fresh.load(original.id)).toEqual(original);
  });

  it("refuses '__proto__' as a node id (it cannot be validated)", async () => {
    const store = new CheckpointStore(new MemoryAdapter());
    const cp = checkpoint();
    Object.defineProperty(cp.nodeStates, '__proto__', { value: node('__proto__'), enumerable: true, writable: true, configurable: true });
    await expect(store.save(cp)).rejects.toThrow(/__proto__/);
  });

  it('restores minimal checkpoints and odd top-level values', async () => {
    const store = new CheckpointStore(new MemoryAdapter());
    for (const originalInput of [null, 'x'.repeat(2000), 42, [], Array.from({ length: 100 }, (_, i) => `s${i}`), undefined]) {
      const cp = checkpoint({ runId: `r-${Math.random().toString(36).slice(2)}`, originalInput });
      await store.save(cp);
      expect(await store.load(cp.id)).toEqual(cp);
    }
  });

  it('restores arrays of every length around the chunk boundaries', async () => {
    const store = new CheckpointStore(new MemoryAdapter());
    let cp = checkpoint({ runId: 'lengths' });
    for (const length of [0, 1, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 200, 257]) {
      const items = Array.from({ length }, (_, i) => ({ i, pad: i % 3 === 0 ? 'p'.repeat(500) : 'p' }));
      cp = cp.seq === 0 && cp.parentCheckpointId === null && length === 0 ? cp : next(cp);
      cp = { ...cp, nodeStates: { n: node('n', { internalState: { items } }) } };
      await store.save(cp);
      expect((await store.load(cp.id)).nodeStates.n!.internalState).toEqual({ items });
    }
  });

  it('uses the codec passed in (custom types) and reports unserializable state with its path', async () => {
    class Point {
      constructor(
        readonly x: number,
        readonly y: number,
      ) {}
    }
    const codec = new Codec().register({ name: 'Point', is: (v) => v instanceof Point, encode: (p: Point) => [p.x, p.y], decode: ([x, y]) => new Point(x, y) });
    const store = new CheckpointStore(new MemoryAdapter(), { codec });
    const cp = checkpoint({ nodeStates: { a: node('a', { output: { at: new Point(1, 2) } }) } });
    await store.save(cp);
    const loaded = await store.load(cp.id);
    expect(loaded.nodeStates.a!.output).toEqual({ at: new Point(1, 2) });
    expect((loaded.nodeStates.a!.output as { at: Point }).at).toBeInstanceOf(Point);

    const bad = checkpoint({ runId: 'bad', nodeStates: { agent: node('agent', { internalState: { messages: [{}, {}, {}, { fn: () => 1 }] } }) } });
    const error = await store.save(bad).catch((e: unknown) => e as UnserializableStateError);
    expect(UnserializableStateError.isInstance(error)).toBe(true);
    expect((error as UnserializableStateError).path).toBe('nodeStates.agent.internalState.messages[3].fn');
    expect(await store.getHead('bad')).toBeNull();

    const plainStore = new CheckpointStore(store.adapter);
    await expect(plainStore.load(cp.id)).rejects.toThrow(/Point/);
  });

  it('user data shaped like the store tags never collides with them', async () => {
    const store = new CheckpointStore(new MemoryAdapter());
    const hostile = {
      [TAG]: 'ref',
      h: 'aaaa',
      list: Array.from({ length: 40 }, (_, i) => ({ [TAG]: i % 2 ? 'arr' : 'ref', n: 3, l: 16, s: ['x'], h: 'x' })),
      '$sp$': { [TAG]: 'undefined' },
    };
    const cp = checkpoint({ nodeStates: { a: node('a', { output: hostile }) }, originalInput: hostile });
    await store.save(cp);
    expect(await store.load(cp.id)).toEqual(cp);
  });
});
