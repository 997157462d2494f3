import { randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { MemoryAdapter } from '../../src/adapters/memory-adapter.js';
import { REDACTED } from '../../src/codec/index.js';
import { CorruptCheckpointError, InvalidArgumentError } from '../../src/errors.js';
import { CheckpointStore } from '../../src/store/checkpoint-store.js';
import { checkpoint, interceptingAdapter, next, node, rejection } from './helpers.js';

const SECRET = 'sk-live-0123456789abcdef';

function secretCheckpoint() {
  return checkpoint({
    nodeStates: {
      call: node('call', {
        input: { headers: { Authorization: `Bearer ${SECRET}` }, q: 'hello' },
        output: { text: `the key is ${SECRET}`, apiKey: { nested: SECRET } },
        internalState: { messages: Array.from({ length: 30 }, (_, i) => ({ i, password: `pw${i}`, content: i === 7 ? SECRET : 'ok' })) },
        error: { name: 'Error', message: `failed with ${SECRET}` },
      }),
    },
    originalInput: { apikey: SECRET, topic: 'x' },
    originalConfig: { token: 't', model: 'm' },
    metadata: { note: SECRET, PASSWORD: 'p' },
    status: 'pending_input',
    pendingInputs: [
      { nodePath: 'approve', prompt: `Use ${SECRET}?`, schema: { type: 'object' }, requestedAt: new Date(1), metadata: { token: 'x' } },
    ],
  });
}

describe('redaction', () => {
  it('replaces configured keys (any case) and matching strings before anything is stored', async () => {
    const { adapter, written } = interceptingAdapter(new MemoryAdapter());
    const store = new CheckpointStore(adapter, {
      redact: { keys: ['authorization', 'apiKey', 'password', 'TOKEN'], patterns: [/sk-live-[0-9a-f]+/] },
    });
    const cp = secretCheckpoint();
    await store.save(cp);
    for (const data of written) {
      expect(data).not.toContain(SECRET);
      expect(data).not.toContain('pw7');
    }
    const loaded = await store.load(cp.id);
    const call = loaded.nodeStates.call!;
    expect(call.input).toEqual({ headers: { Authorization: REDACTED }, q: 'hello' });
    expect(call.output).toEqual({ text: REDACTED, apiKey: REDACTED });
    expect((call.internalState as { messages: Array<{ password: string; content: string }> }).messages[7]).toEqual({
      i: 7,
      password: REDACTED,
      content: REDACTED,
    });
    expect(call.error).toEqual({ name: 'Error', message: REDACTED });
    expect(loaded.originalInput).toEqual({ apikey: REDACTED, topic: 'x' });
    expect(loaded.originalConfig).toEqual({ token: REDACTED, model: 'm' });
    expect(loaded.metadata).toEqual({ note: REDACTED, PASSWORD: REDACTED });
    expect(loaded.pendingInputs[0]!.prompt).toBe(REDACTED);
    expect(loaded.pendingInputs[0]!.metadata).toEqual({ token: REDACTED });
    // structural fields are never redacted
    expect(call.nodeId).toBe('call');
    expect(loaded.pendingInputs[0]!.schema).toEqual({ type: 'object' });
    expect((await store.listByFlow(cp.flowId))[0]!.metadata.note).toBe(REDACTED);
  });

  it('refuses an invalid redact option', () => {
    expect(() => new CheckpointStore(new MemoryAdapter(), { redact: { patterns: ['x' as never] } })).toThrow(InvalidArgumentError);
  });
});

describe('encryption', () => {
  const k1 = { id: 'k1', key: randomBytes(32) };
  const k2 = { id: 'k2', key: randomBytes(32) };

  it('stores only ciphertext (blobs and header user data) and reads it back', async () => {
    const { adapter, written } = interceptingAdapter(new MemoryAdapter());
    const store = new CheckpointStore(adapter, { encryption: { keys: [k1] } });
    const cp = secretCheckpoint();
    await store.save(cp);
    expect(written.length).toBeGreaterThan(2);
    for (const data of written) {
      expect(data).not.toContain(SECRET);
      expect(data).not.toContain('hello');
    }
    expect(written.filter((d) => d.startsWith('enc:v1:k1:')).length).toBe(written.length - 1); // all but the header
    expect(await store.load(cp.id)).toEqual(cp);
    expect((await store.listByFlow(cp.flowId))[0]!.pendingInputs).toEqual(cp.pendingInputs);
    expect((await store.listPendingInput())[0]!.metadata).toEqual(cp.metadata);
  });

  it('keeps content addressing: an unchanged save writes no blob', async () => {
    const store = new CheckpointStore(new MemoryAdapter(), { encryption: { keys: [k1] } });
    const cp = secretCheckpoint();
    await store.save(cp);
    expect((await store.save(next(cp))).blobsWritten).toBe(0);
  });

  it('rotates: the first key encrypts, every listed key decrypts', async () => {
    const inner = new MemoryAdapter();
    const { adapter, written } = interceptingAdapter(inner);
    const cp = secretCheckpoint();
    await new CheckpointStore(adapter, { encryption: { keys: [k1] } }).save(cp);

    const rotated = new CheckpointStore(adapter, { encryption: { keys: [k2, k1] } });
    expect(await rotated.load(cp.id)).toEqual(cp);
    written.length = 0;
    const successor = next(cp, { metadata: { changed: true }, nodeStates: { ...cp.nodeStates, extra: node('extra', { output: 'new state' }) } });
    await rotated.save(successor);
    expect(written.length).toBeGreaterThan(0);
    for (const data of written.slice(0, -1)) expect(data.startsWith('enc:v1:k2:')).toBe(true);
    expect(await rotated.load(successor.id)).toEqual(successor);

    // without k1, what k1 encrypted cannot be read: the error names the missing key
    const k2Only = new CheckpointStore(adapter, { encryption: { keys: [k2] } });
    const error = await rejection(k2Only.load(cp.id));
    expect(CorruptCheckpointError.isInstance(error)).toBe(true);
    expect(error.message).toMatch(/key 'k1'/);
    expect(error.message).toContain(cp.id);
  });

  it('a wrong key under the same id, or no keys at all, is a CorruptCheckpointError', async () => {
    const adapter = new MemoryAdapter();
    const cp = secretCheckpoint();
    await new CheckpointStore(adapter, { encryption: { keys: [k1] } }).save(cp);
    const wrong = new CheckpointStore(adapter, { encryption: { keys: [{ id: 'k1', key: randomBytes(32) }] } });
    // the header's HMAC (keyed from the encryption key) fails before any blob is decrypted
    await expect(wrong.load(cp.id)).rejects.toThrow(/does not match its integrity digest/);
    const none = new CheckpointStore(adapter);
    const error = await rejection(none.load(cp.id));
    expect(CorruptCheckpointError.isInstance(error)).toBe(true);
    expect(error.message).toMatch(/has no encryption keys configured.*'k1'/);
    await expect(none.listByFlow(cp.flowId)).rejects.toThrow(CorruptCheckpointError);
  });

  it('refuses bad key configurations', () => {
    const make = (keys: unknown) => () => new CheckpointStore(new MemoryAdapter(), { encryption: { keys } as never });
    expect(make([])).toThrow(InvalidArgumentError);
    expect(make([{ id: 'short', key: randomBytes(16) }])).toThrow(/32 bytes/);
    expect(make([k1, { ...k2, id: 'k1' }])).toThrow(/listed twice/);
  });
});
