import { randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { MemoryAdapter } from '../../src/adapters/memory-adapter.js';
import { Codec, REDACTED } from '../../src/codec/index.js';
import { CorruptCheckpointError } from '../../src/errors.js';
import { CheckpointStore } from '../../src/store/checkpoint-store.js';

const SECRET = 'sk-live-0123456789abcdef';
const redact = { keys: ['apiKey', 'password'], patterns: [/sk-live-[0-9a-f]+/] };
const k1 = { id: 'k1', key: randomBytes(32) };
const k2 = { id: 'k2', key: randomBytes(32) };

const value = () => ({
  at: new Date(Date.UTC(2025, 0, 1)),
  tags: new Map<string, unknown>([['a', new Set([1n])]]),
  answer: { ok: true, apiKey: 'plain-api-key', note: `use ${SECRET}`, password: 'hunter2' },
  plain: 'visible text',
});

describe('sealPayload / openPayload', () => {
  it('without encryption: redacted codec JSON that round-trips Dates, Maps, Sets and BigInts', () => {
    const store = new CheckpointStore(new MemoryAdapter(), { redact });
    const text = store.sealPayload(value());
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('plain-api-key');
    expect(text).toContain('visible text');
    expect(store.openPayload(text)).toEqual({
      ...value(),
      answer: { ok: true, apiKey: REDACTED, note: REDACTED, password: REDACTED },
    });
  });

  it('uses the store codec, so registered custom types survive', () => {
    class Money {
      constructor(readonly cents: number) {}
    }
    const codec = new Codec();
    codec.register<Money>({
      name: 'Money',
      is: (v) => v instanceof Money,
      encode: (m) => m.cents,
      decode: (cents: number) => {
        if (cents < 0) throw new RangeError('negative money');
        return new Money(cents);
      },
    });
    const store = new CheckpointStore(new MemoryAdapter(), { codec });
    expect(store.openPayload(store.sealPayload({ price: new Money(250) }))).toEqual({ price: new Money(250) });
    // a custom decoder that throws on stored data is corruption too, not a raw error
    expect(() => store.openPayload(store.sealPayload({ price: new Money(-1) }))).toThrow(CorruptCheckpointError);
  });

  it('with encryption: only ciphertext under the active key id, read back with rotated keys', () => {
    const old = new CheckpointStore(new MemoryAdapter(), { redact, encryption: { keys: [k1] } });
    const text = old.sealPayload(value());
    expect(text.startsWith('enc:v1:k1:')).toBe(true);
    for (const clear of [SECRET, 'hunter2', 'visible text', 'apiKey', 'answer']) expect(text).not.toContain(clear);

    const rotated = new CheckpointStore(new MemoryAdapter(), { encryption: { keys: [k2, k1] } });
    expect(rotated.openPayload(text)).toEqual(old.openPayload(text));
    expect(rotated.sealPayload('x').startsWith('enc:v1:k2:')).toBe(true);
  });

  it('a tampered, truncated, unknown-key, planted-plaintext or unparsable payload is a CorruptCheckpointError', () => {
    const store = new CheckpointStore(new MemoryAdapter(), { encryption: { keys: [k1] } });
    const text = store.sealPayload({ ok: true, n: 42 });
    const body = text.slice('enc:v1:k1:'.length);
    const raw = Buffer.from(body, 'base64');
    raw[raw.length - 1] ^= 1;
    const cases = [
      `enc:v1:k1:${raw.toString('base64')}`, // flipped ciphertext bit: GCM authentication fails
      text.slice(0, 20), // truncated
      text.replace('enc:v1:k1:', 'enc:v1:k9:'), // a key this store does not have
      JSON.stringify({ ok: false }), // plaintext planted where this store writes ciphertext
    ];
    for (const bad of cases) expect(() => store.openPayload(bad)).toThrow(CorruptCheckpointError);

    const plainStore = new CheckpointStore(new MemoryAdapter());
    for (const bad of ['{"ok":', '{"$sp":"date","v":"not a date"}', text]) {
      expect(() => plainStore.openPayload(bad)).toThrow(CorruptCheckpointError);
    }
    expect(() => plainStore.openPayload(42 as never)).toThrow(CorruptCheckpointError);
  });
});
