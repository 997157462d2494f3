import { describe, expect, it } from '@jest/globals';
import {
  assertEncodable,
  Codec,
  compileRedaction,
  DEFAULT_MAX_DEPTH,
  defaultCodec,
  REDACTED,
  TAG,
  type JsonValue,
} from '../../src/codec/index.js';
import { InvalidArgumentError, UnserializableStateError } from '../../src/errors.js';

/** Wraps `leaf` in `levels` containers made by `wrap`. */
function nest(levels: number, wrap: (inner: unknown) => unknown, leaf: unknown = 1): unknown {
  let value = leaf;
  for (let i = 0; i < levels; i += 1) value = wrap(value);
  return value;
}

const inObject = (inner: unknown) => ({ a: inner });
const inArray = (inner: unknown) => [inner];

function caught(fn: () => unknown): UnserializableStateError {
  try {
    fn();
  } catch (error) {
    if (!UnserializableStateError.isInstance(error)) throw error;
    return error as UnserializableStateError;
  }
  throw new Error('expected an UnserializableStateError');
}

class Box {
  constructor(readonly inner: unknown) {}
}
const boxType = { name: 'Box', is: (v: unknown) => v instanceof Box, encode: (b: Box) => b.inner, decode: (j: unknown) => new Box(j) };

describe('Codec nesting depth', () => {
  it('refuses a small value nested 5,000 levels with a typed error naming the path, never a RangeError', () => {
    const value = nest(5000, inObject);
    const error = caught(() => defaultCodec.encode({ input: value }, { path: 'state' }));
    expect(error.code).toBe('UNSERIALIZABLE_STATE');
    expect(error.path).toBe(`state.input${'.a'.repeat(DEFAULT_MAX_DEPTH - 1)}`);
    expect(error.message).toContain('nested deeper than 1,000 levels at state.input.a.a');
    expect(error.message).toContain('flatten it or store it as a string');
    expect(error.message.length).toBeLessThan(600);
    expect(() => defaultCodec.stringify(nest(5000, inArray))).toThrow(UnserializableStateError);
  });

  it('round-trips exactly DEFAULT_MAX_DEPTH levels and refuses one more, for every container kind', () => {
    expect(DEFAULT_MAX_DEPTH).toBe(1000);
    const codec = new Codec([boxType]);
    // JSON levels per container: object/array 1, null-prototype object 2, Set 2, Map 3, custom type 1 (+ its value)
    const kinds: Array<[string, (inner: unknown) => unknown, number]> = [
      ['object', inObject, 1],
      ['array', inArray, 1],
      ['null-prototype object', (inner) => Object.assign(Object.create(null) as object, { n: inner }), 2],
      ['Set', (inner) => new Set([inner]), 2],
      ['Map', (inner) => new Map([['k', inner]]), 3],
      ['custom type holding an array', (inner) => new Box([inner]), 2],
    ];
    for (const [name, wrap, levels] of kinds) {
      const fits = Math.floor(DEFAULT_MAX_DEPTH / levels);
      const text = codec.stringify(nest(fits, wrap));
      expect([name, codec.stringify(codec.parse(text))]).toEqual([name, text]);
      const error = caught(() => codec.encode(nest(fits + 1, wrap)));
      expect([name, error.message]).toEqual([name, expect.stringContaining('nested deeper than 1,000 levels')]);
      expect(error.path).not.toBe('');
    }
  });

  it('leaves room on the stack: a value at the limit round-trips even when the caller is already deep', () => {
    const value = nest(DEFAULT_MAX_DEPTH, inObject);
    const deepCaller = (frames: number): unknown => (frames === 0 ? defaultCodec.parse(defaultCodec.stringify(value)) : deepCaller(frames - 1));
    expect(deepCaller(2000)).toEqual(value);
  });

  it('maxDepth is configurable on the codec and per call, and validated', () => {
    const codec = new Codec([], { maxDepth: 10 });
    expect(codec.maxDepth).toBe(10);
    expect(codec.decode(codec.encode(nest(10, inArray)))).toEqual(nest(10, inArray));
    expect(caught(() => codec.encode(nest(11, inArray), { path: 'x' })).path).toBe(`x${'[0]'.repeat(10)}`);
    expect(codec.encode(nest(11, inArray), { maxDepth: 11 })).toEqual(nest(11, inArray));
    for (const bad of [0, -1, 1.5, Number.NaN, '10' as never]) {
      expect(() => new Codec([], { maxDepth: bad })).toThrow(InvalidArgumentError);
      expect(() => defaultCodec.encode(1, { maxDepth: bad })).toThrow(InvalidArgumentError);
      expect(() => defaultCodec.decode(1, { maxDepth: bad })).toThrow(InvalidArgumentError);
    }
  });

  it('decoding a stored value deeper than the limit is a typed error naming the path, never a RangeError', () => {
    const deepArrays = JSON.parse(`${'['.repeat(20_000)}1${']'.repeat(20_000)}`) as JsonValue;
    const error = caught(() => defaultCodec.decode({ list: deepArrays }, { path: 'state' }));
    expect(error.path).toBe(`state.list${'[0]'.repeat(DEFAULT_MAX_DEPTH - 1)}`);
    expect(error.message).toContain('Stored value is nested deeper than 1,000 levels');
    expect(error.message).toContain('maxDepth');
    const deepMaps = JSON.parse(`${`{"${TAG}":"Map","v":[["k",`.repeat(5000)}1${']]}'.repeat(5000)}`) as JsonValue;
    expect(caught(() => defaultCodec.decode(deepMaps)).path).toContain('.get("k")');
    const deepNull = `${`{"${TAG}":"null","v":{"a":`.repeat(5000)}1${'}}'.repeat(5000)}`;
    expect(caught(() => defaultCodec.parse(deepNull)).path).toMatch(/^a\.a\.a/);
    // what a codec with a higher limit wrote, a codec with that limit reads
    const wide = new Codec([], { maxDepth: 1200 });
    const stored = wide.stringify(nest(1100, inObject));
    expect(() => defaultCodec.parse(stored)).toThrow(UnserializableStateError);
    expect(wide.parse(stored)).toEqual(nest(1100, inObject));
    expect(defaultCodec.parse(stored, { maxDepth: 1200 })).toEqual(nest(1100, inObject));
  });

  it('redaction walks deep values under the same bound', () => {
    const redact = compileRedaction({ keys: ['apiKey'], patterns: [/sk-\w+/] })!;
    const error = caught(() => defaultCodec.encode(nest(5000, inObject, { apiKey: 'x' }), { redact }));
    expect(error.message).toContain('nested deeper than 1,000 levels');
    const value = nest(DEFAULT_MAX_DEPTH - 1, inObject, { apiKey: 'x', note: 'sk-123' });
    const out = defaultCodec.decode(defaultCodec.encode(value, { redact }));
    expect(out).toEqual(nest(DEFAULT_MAX_DEPTH - 1, inObject, { apiKey: REDACTED, note: REDACTED }));
  });

  it('a frozen subtree a hook returns from its cache is checked at the depth where it is reused', () => {
    const codec = new Codec([], { maxDepth: 20 });
    const frozen = Object.freeze(nest(15, (inner) => Object.freeze([inner])) as object);
    const cache = new Map<object, JsonValue>();
    const hooks = {
      enter: (source: object) => cache.get(source),
      leave: (json: JsonValue, source: object | undefined, immutable: boolean) => {
        if (source && immutable) cache.set(source, json);
        return json;
      },
    };
    expect(codec.encode({ shallow: frozen }, { hooks })).toEqual({ shallow: nest(15, inArray) });
    expect(cache.has(frozen)).toBe(true);
    expect(codec.encode({ again: frozen }, { hooks })).toEqual({ again: nest(15, inArray) });
    const error = caught(() => codec.encode(nest(10, inObject, frozen), { hooks }));
    expect(error.path).toBe('a.a.a.a.a.a.a.a.a.a');
  });
});

describe('assertEncodable', () => {
  it('passes storable values and names the path of anything else, including too deep', () => {
    expect(() => assertEncodable({ messages: [{ role: 'user', text: 'hi' }], at: new Date(0) })).not.toThrow();
    const deep = caught(() => assertEncodable(nest(5000, inObject), { path: 'input' }));
    expect(deep.path.startsWith('input.a.a')).toBe(true);
    expect(caught(() => assertEncodable({ f: () => 1 }, { path: 'input' })).path).toBe('input.f');
    expect(caught(() => assertEncodable(nest(11, inArray), { maxDepth: 10 })).message).toContain('10 levels');
    const codec = new Codec([boxType], { maxDepth: 5 });
    expect(() => assertEncodable(new Box(1), { codec })).not.toThrow();
    expect(() => assertEncodable(new Box(1))).toThrow(UnserializableStateError);
    expect(() => assertEncodable(nest(6, inArray), { codec })).toThrow(/nested deeper than 5 levels/);
  });
});
