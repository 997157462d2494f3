import { describe, expect, it } from '@jest/globals';
import { MemoryAdapter } from '../../src/adapters/memory-adapter.js';
import type { FlowCheckpoint } from '../../src/models/checkpoint.js';
import { Codec } from '../../src/codec/codec.js';
import { CheckpointStore } from '../../src/store/checkpoint-store.js';
import { checkpoint, countingAdapter, next, node } from './helpers.js';

const KB = 1024;

/** An agent-like run: each save appends one ~2 KB message to nodeStates.agent.internalState.messages. */
async function agentRun(store: CheckpointStore, loops: number, freeze: boolean) {
  let cp: FlowCheckpoint = checkpoint({ runId: `agent-${freeze}` });
  let messages: object[] = [];
  const results = [];
  for (let i = 0; i < loops; i += 1) {
    const message = { role: i % 2 ? 'assistant' : 'tool', content: `loop ${i}: `.padEnd(2 * KB, 'lorem ipsum ') };
    messages = [...messages, freeze ? Object.freeze(message) : message];
    if (freeze) Object.freeze(messages);
    if (i > 0) cp = next(cp);
    cp = {
      ...cp,
      nodeStates: {
        fetch: node('fetch', { output: { docs: 'd'.repeat(3000) } }),
        agent: node('agent', { nodeType: 'agent', status: 'running', internalState: { loop: i, messages } }),
      },
      completedNodeIds: ['fetch'],
      pendingNodeIds: ['agent'],
    };
    results.push(await store.save(cp, { expectedHead: cp.parentCheckpointId }));
  }
  return { cp, results, messages };
}

describe('write cost follows the change, not the history', () => {
  it.each([false, true])('200 agent loops of 2 KB write <= 1 MB in total (frozen: %s)', async (freeze) => {
    const { adapter, stats, total } = countingAdapter(new MemoryAdapter());
    const store = new CheckpointStore(adapter);
    const { cp, results, messages } = await agentRun(store, 200, freeze);

    // bytesWritten reports exactly what reached the adapter
    expect(results.reduce((sum, r) => sum + r.bytesWritten, 0)).toBe(total());
    expect(total()).toBeLessThanOrEqual(1024 * KB);
    const historyBytes = Buffer.byteLength(JSON.stringify(messages));
    expect(historyBytes).toBeGreaterThan(400 * KB);
    const last = results[199]!.bytesWritten;
    expect(last).toBeLessThan(historyBytes / 50);
    // the 200th save costs about what the 2nd did (no growth with the history)
    expect(last).toBeLessThan(results[1]!.bytesWritten * 1.5);
    expect(Math.max(...results.slice(1).map((r) => r.bytesWritten))).toBeLessThan(12 * KB);
    expect(stats.headers).toBe(200);

    expect((await store.load(cp.id)).nodeStates.agent!.internalState).toEqual({ loop: 199, messages });
    // and a store without any cache reads it too
    expect((await new CheckpointStore(adapter).load(cp.id)).nodeStates.agent!.internalState).toEqual({ loop: 199, messages });
  });

  it('a second save of unchanged state writes no blob, only the header', async () => {
    const { adapter, stats } = countingAdapter(new MemoryAdapter());
    const store = new CheckpointStore(adapter);
    const first = checkpoint({
      nodeStates: { a: node('a', { output: { text: 'z'.repeat(10_000), list: Array.from({ length: 100 }, (_, i) => ({ i })) } }) },
      originalInput: { big: 'i'.repeat(1000) },
    });
    const r1 = await store.save(first);
    expect(r1.blobsWritten).toBeGreaterThan(0);
    const blobsAfterFirst = stats.blobs;
    const second = next(first, { status: 'paused' });
    const r2 = await store.save(second);
    expect(r2.blobsWritten).toBe(0);
    expect(stats.blobs).toBe(blobsAfterFirst);
    expect(r2.bytesWritten).toBeLessThan(1000);
    expect((await store.load(second.id)).status).toBe('paused');
  });

  it('dedupes after a load too (another store instance continues the run)', async () => {
    const adapter = new MemoryAdapter();
    const { cp } = await agentRun(new CheckpointStore(adapter), 50, false);
    const resumed = new CheckpointStore(adapter);
    const loaded = await resumed.load(cp.id);
    const state = loaded.nodeStates.agent!.internalState as { messages: object[] };
    const successor = next(loaded, {
      nodeStates: {
        ...loaded.nodeStates,
        agent: { ...loaded.nodeStates.agent!, internalState: { loop: 50, messages: [...state.messages, { role: 'user', content: 'hi' }] } },
      },
    });
    const result = await resumed.save(successor, { expectedHead: cp.id });
    expect(result.bytesWritten).toBeLessThan(4 * KB);
  });

  it('does not trust blobs of a checkpoint that is not the parent (writes them again)', async () => {
    const { adapter } = countingAdapter(new MemoryAdapter());
    const store = new CheckpointStore(adapter);
    const state = { a: node('a', { output: 'o'.repeat(5000) }) };
    const cp1 = checkpoint({ nodeStates: state });
    await store.save(cp1);
    // a checkpoint claiming another parent: the store cannot know that parent's blobs are still there
    const other = checkpoint({ runId: 'run-1', seq: 1, parentCheckpointId: 'unknown-parent', nodeStates: state });
    expect((await store.save(other)).blobsWritten).toBeGreaterThan(0);
  });

  it('memoizes encoding of frozen subtrees: re-saving an unchanged frozen history does not re-encode it', async () => {
    const store = new CheckpointStore(new MemoryAdapter());
    let reads = 0;
    const history = Object.freeze(
      Array.from({ length: 100 }, (_, i) =>
        Object.freeze({
          role: 'user',
          get content() {
            reads += 1;
            return `message ${i} `.repeat(40);
          },
        }),
      ),
    );
    let cp = checkpoint({ nodeStates: { agent: node('agent', { internalState: { history } }) } });
    await store.save(cp);
    expect(reads).toBe(100);
    cp = next(cp);
    const r = await store.save(cp);
    expect(reads).toBe(100); // nothing re-encoded
    expect(r.blobsWritten).toBe(0);
    // appending to a new frozen array re-encodes only the new element
    const longer = Object.freeze([...history, Object.freeze({ role: 'assistant', content: 'new' })]);
    cp = next(cp, { nodeStates: { agent: node('agent', { internalState: { history: longer } }) } });
    await store.save(cp);
    expect(reads).toBe(100);
    // a new, unfrozen array of the same frozen messages still reuses each message's encoding
    cp = next(cp, { nodeStates: { agent: node('agent', { internalState: { history: [...history] } }) } });
    await store.save(cp);
    expect(reads).toBe(100);
  });

  it('re-encodes mutable values on every save (CPU), but still writes no unchanged blob (bytes)', async () => {
    const store = new CheckpointStore(new MemoryAdapter());
    let reads = 0;
    const message = {
      get content() {
        reads += 1;
        return 'c'.repeat(1000);
      },
    };
    let cp = checkpoint({ nodeStates: { a: node('a', { internalState: { messages: [message] } }) } });
    await store.save(cp);
    cp = next(cp);
    const r = await store.save(cp);
    expect(reads).toBe(2);
    expect(r.blobsWritten).toBe(0);
  });

  it('stores a segment of small messages as exactly JSON.stringify of its entries, frozen or not', async () => {
    // Segment texts are assembled from each message's own text: they must stay byte-identical to what
    // JSON.stringify gives, or a run resumed by an older or newer release would stop deduplicating.
    for (const freeze of [false, true]) {
      const adapter = new MemoryAdapter();
      const written: string[] = [];
      const put = adapter.putBlobs.bind(adapter);
      adapter.putBlobs = (runId, blobs) => {
        written.push(...blobs.map((b) => b.data));
        return put(runId, blobs);
      };
      const store = new CheckpointStore(adapter);
      const messages = Array.from({ length: 40 }, (_, i) => {
        const message = { role: i % 2 ? 'assistant' : 'user', content: `m${i} "quoted" \u00e9\n`, n: i };
        return freeze ? Object.freeze(message) : message;
      });
      await store.save(checkpoint({ nodeStates: { a: node('a', { internalState: { messages } }) } }));
      const leaves = written.filter((data) => data.startsWith('[{'));
      expect(leaves).toEqual([JSON.stringify(messages.slice(0, 16)), JSON.stringify(messages.slice(16, 32)), JSON.stringify(messages.slice(32, 40))]);
    }
  });

  it('with immutableNodeStates, does not encode a node state object again, only the ones replaced', async () => {
    const store = new CheckpointStore(new MemoryAdapter());
    let reads = 0;
    const counted = { get content() { reads += 1; return 'c'.repeat(1000); } };
    const done = node('done', { output: { messages: [counted] } });
    let cp = checkpoint({ nodeStates: { done, busy: node('busy', { status: 'running', internalState: { step: 0 } }) } });
    await store.save(cp, { immutableNodeStates: true });
    for (let step = 1; step <= 3; step += 1) {
      cp = { ...next(cp), nodeStates: { done, busy: node('busy', { status: 'running', internalState: { step } }) } };
      const r = await store.save(cp, { expectedHead: cp.parentCheckpointId, immutableNodeStates: true });
      expect(r.blobsWritten).toBe(1); // the replaced node's blob only
    }
    expect(reads).toBe(1);
    const loaded = await new CheckpointStore(store.adapter).load(cp.id);
    expect(loaded.nodeStates.done!.output).toEqual({ messages: [{ content: 'c'.repeat(1000) }] });
    expect(loaded.nodeStates.busy!.internalState).toEqual({ step: 3 });

    // another store (a resumed run) knows nothing of those objects: it encodes them once, then reuses them
    const other = new CheckpointStore(store.adapter);
    await other.load(cp.id);
    cp = next(cp);
    await other.save(cp, { expectedHead: cp.parentCheckpointId, immutableNodeStates: true });
    cp = next(cp);
    await other.save(cp, { expectedHead: cp.parentCheckpointId, immutableNodeStates: true });
    expect(reads).toBe(2);
  });

  it("with immutableNodeStates, writes a reused node's blobs again when the run may no longer hold them", async () => {
    const store = new CheckpointStore(new MemoryAdapter());
    const done = node('done', { output: { docs: 'd'.repeat(3000) } });
    const first = checkpoint({ runId: 'run-a', nodeStates: { done } });
    await store.save(first, { immutableNodeStates: true });
    // the same object in another run, which holds none of its blobs
    const elsewhere = checkpoint({ runId: 'run-b', nodeStates: { done } });
    const r = await store.save(elsewhere, { immutableNodeStates: true });
    expect(r.blobsWritten).toBeGreaterThan(0);
    expect((await new CheckpointStore(store.adapter).load(elsewhere.id)).nodeStates.done!.output).toEqual({ docs: 'd'.repeat(3000) });
  });

  it('with immutableNodeStates, reuses the node states a load returned (a resumed run does not re-encode them)', async () => {
    class Money {
      constructor(readonly cents: number) {}
    }
    let encodes = 0;
    const codec = () =>
      new Codec([{ name: 'Money', is: (v) => v instanceof Money, encode: (v: Money) => (encodes++, v.cents), decode: (c: number) => new Money(c) }]);
    const adapter = new MemoryAdapter();
    const first = checkpoint({ nodeStates: { paid: node('paid', { output: { total: new Money(4200) } }) } });
    await new CheckpointStore(adapter, { codec: codec() }).save(first, { immutableNodeStates: true });
    expect(encodes).toBe(1);

    const resumed = new CheckpointStore(adapter, { codec: codec() });
    const loaded = await resumed.load(first.id);
    const cp = { ...next(loaded), nodeStates: { ...loaded.nodeStates, more: node('more') } };
    const r = await resumed.save(cp, { expectedHead: first.id, immutableNodeStates: true });
    expect(encodes).toBe(1);
    expect(r.blobsWritten).toBe(1); // the new node's blob
    expect((await new CheckpointStore(adapter, { codec: codec() }).load(cp.id)).nodeStates.paid!.output).toEqual({ total: new Money(4200) });
  });
});

