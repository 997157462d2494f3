import { describe, expect, it } from '@jest/globals';
import { Socket } from 'node:net';
import { runInNewContext } from 'node:vm';
import { Codec, compileRedaction, defaultCodec, formatPath, REDACTED, TAG, type JsonValue } from '../../src/codec/index.js';
import { CorruptCheckpointError, InvalidArgumentError, UnserializableStateError } from '../../src/errors.js';

class Money {
  constructor(
    readonly amount: bigint,
    readonly currency: string,
  ) {}
}

const moneyType = {
  name: 'Money',
  is: (v: unknown) => v instanceof Money,
  encode: (m: Money) => ({ amount: m.amount, currency: m.currency, at: new Date(0) }),
  decode: (j: { amount: bigint; currency: string }) => new Money(j.amount, j.currency),
};

function roundTrip(value: unknown, codec = new Codec()): unknown {
  return codec.parse(codec.stringify(value));
}

function catchError(fn: () => unknown): UnserializableStateError {
  try {
    fn();
  } catch (error) {
    return error as UnserializableStateError;
  }
  throw new Error('expected an error');
}

describe('Codec round trips', () => {
  it('keeps JSON values as they are', () => {
    const value = { a: 1, b: 'two', c: [true, false, null], d: { e: 1.5, f: [] }, g: '' };
    expect(defaultCodec.encode(value)).toEqual(value);
    expect(roundTrip(value)).toEqual(value);
  });

  it('accepts plain data made in another realm (a vm context, a sandbox) and restores it in this one', () => {
    const foreign = runInNewContext('({ a: [1, { b: 2 }], d: new Date(0), m: new Map([["k", 1]]), s: new Set([3]) })');
    expect(Object.getPrototypeOf(foreign)).not.toBe(Object.prototype);
    const out = roundTrip(foreign) as { a: unknown[]; d: Date; m: Map<string, number>; s: Set<number> };
    expect(out.a).toEqual([1, { b: 2 }]);
    expect(out.d).toBeInstanceOf(Date);
    expect(out.d.getTime()).toBe(0);
    expect(out.m.get('k')).toBe(1);
    expect(out.s.has(3)).toBe(true);
  });

  it('restores Date (valid and invalid)', () => {
    const date = new Date('2025-03-04T05:06:07.089Z');
    const out = roundTrip({ date, bad: new Date(Number.NaN) }) as { date: Date; bad: Date };
    expect(out.date).toBeInstanceOf(Date);
    expect(out.date.getTime()).toBe(date.getTime());
    expect(Number.isNaN(out.bad.getTime())).toBe(true);
  });

  it('restores Map with any keys and nested values', () => {
    const map = new Map<unknown, unknown>([
      ['a', 1],
      [2, new Date(5)],
      [{ k: 1 }, new Set([1, 'x'])],
      [null, new Map([['inner', 1n]])],
    ]);
    const out = roundTrip(map) as Map<unknown, unknown>;
    expect(out).toBeInstanceOf(Map);
    expect([...out.keys()]).toEqual(['a', 2, { k: 1 }, null]);
    expect(out.get(2)).toEqual(new Date(5));
    expect(out.get(null)).toEqual(new Map([['inner', 1n]]));
    expect([...out.values()][2]).toEqual(new Set([1, 'x']));
  });

  it('restores Set, BigInt and numbers JSON cannot hold', () => {
    const value = {
      set: new Set([1, 'a', { b: 2 }]),
      big: 12345678901234567890123n,
      neg: -5n,
      nan: Number.NaN,
      inf: Number.POSITIVE_INFINITY,
      ninf: Number.NEGATIVE_INFINITY,
      negZero: -0,
      zero: 0,
    };
    const out = roundTrip(value) as typeof value;
    expect(out.set).toEqual(value.set);
    expect(out.big).toBe(value.big);
    expect(out.neg).toBe(-5n);
    expect(out.nan).toBeNaN();
    expect(out.inf).toBe(Number.POSITIVE_INFINITY);
    expect(out.ninf).toBe(Number.NEGATIVE_INFINITY);
    expect(Object.is(out.negZero, -0)).toBe(true);
    expect(Object.is(out.zero, 0)).toBe(true);
  });

  it('restores undefined in objects and arrays', () => {
    const value = { u: undefined, list: [1, undefined, 4] };
    const out = roundTrip(value) as typeof value;
    expect(Object.hasOwn(out, 'u')).toBe(true);
    expect(out.u).toBeUndefined();
    expect(out.list).toHaveLength(3);
    expect(1 in out.list).toBe(true);
    expect(out.list[1]).toBeUndefined();
    expect(roundTrip(undefined)).toBeUndefined();
  });

  it('keeps array holes as holes (not undefined), also leading, trailing and long runs', () => {
    // eslint-disable-next-line no-sparse-arrays
    const list = [1, , , 4, undefined, ,];
    const out = roundTrip({ list }) as { list: unknown[] };
    expect(out.list).toHaveLength(6);
    expect(Object.keys(out.list)).toEqual(['0', '3', '4']);
    expect(out.list).toStrictEqual(list);
    const empty = roundTrip(new Array(3)) as unknown[];
    expect(empty).toHaveLength(3);
    expect(Object.keys(empty)).toEqual([]);
    // a run of holes is one tag, so a long sparse array stays small
    expect(defaultCodec.stringify(new Array(1_000_000)).length).toBeLessThan(40);
    // and only its elements are visited, however long it is
    const huge: string[] = [];
    huge[2 ** 32 - 2] = 'last';
    huge[5] = 'fifth';
    const back = roundTrip(huge) as string[];
    expect(back).toHaveLength(2 ** 32 - 1);
    expect(Object.keys(back)).toEqual(['5', String(2 ** 32 - 2)]);
    expect(back[2 ** 32 - 2]).toBe('last');
  });

  it('refuses a malformed hole run and a hole outside an array', () => {
    for (const n of [0, -1, 1.5, 'x', 2 ** 32]) {
      expect(() => defaultCodec.decode([1, { [TAG]: 'hole', n }])).toThrow(CorruptCheckpointError);
    }
    expect(() => defaultCodec.decode({ a: { [TAG]: 'hole', n: 1 } })).toThrow(/hole outside an array/);
  });

  it('refuses named (non-index) array properties and symbols on arrays instead of dropping them', () => {
    const list = Object.assign([1, 2], { total: 3 });
    const error = catchError(() => defaultCodec.encode({ list }, { path: 'state' }));
    expect(UnserializableStateError.isInstance(error)).toBe(true);
    expect(error.path).toBe('state.list.total');
    expect(error.message).toContain('keep named values in an object');
    // eslint-disable-next-line no-sparse-arrays
    const sparse = Object.assign([1, , 3], { extra: true });
    expect(catchError(() => defaultCodec.encode(sparse)).path).toBe('extra');
    const tagged = Object.assign([1], { [Symbol('s')]: 1 });
    expect(catchError(() => defaultCodec.encode({ tagged })).path).toBe('tagged[Symbol(s)]');
    // non-enumerable properties are not data (as on objects)
    const hidden = Object.defineProperty([1], 'hidden', { value: 1, enumerable: false });
    expect(roundTrip(hidden)).toEqual([1]);
  });
  it('restores Uint8Array as Uint8Array and Buffer as Buffer', () => {
    const bytes = new Uint8Array([0, 1, 2, 255]);
    const buffer = Buffer.from('héllo');
    const out = roundTrip({ bytes, buffer }) as { bytes: Uint8Array; buffer: Buffer };
    expect(out.bytes).toBeInstanceOf(Uint8Array);
    expect(Buffer.isBuffer(out.bytes)).toBe(false);
    expect([...out.bytes]).toEqual([0, 1, 2, 255]);
    expect(Buffer.isBuffer(out.buffer)).toBe(true);
    expect(out.buffer.toString()).toBe('héllo');
  });

  it('restores other typed arrays, subarray views and ArrayBuffer', () => {
    const floats = new Float64Array([1.5, -2, Number.NaN]);
    const view = new Uint8Array([9, 8, 7, 6]).subarray(1, 3);
    const ints = new BigInt64Array([1n, -2n]);
    const ab = new Uint8Array([1, 2, 3]).buffer;
    const out = roundTrip({ floats, view, ints, ab }) as { floats: Float64Array; view: Uint8Array; ints: BigInt64Array; ab: ArrayBuffer };
    expect(out.floats).toBeInstanceOf(Float64Array);
    expect([...out.floats]).toEqual([1.5, -2, Number.NaN]);
    expect([...out.view]).toEqual([8, 7]);
    expect([...out.ints]).toEqual([1n, -2n]);
    expect(out.ab).toBeInstanceOf(ArrayBuffer);
    expect([...new Uint8Array(out.ab)]).toEqual([1, 2, 3]);
  });

  it('escapes objects that use the tag key so they round trip', () => {
    const value = {
      [TAG]: 'Date',
      v: 'not a date',
      nested: { [TAG]: 'ref', h: 'abc' },
      ['$sp$']: 1,
      ['$sp$$']: { [TAG]: 'undefined' },
      list: [{ [TAG]: 'arr', n: 3, s: [] }],
      other: '$sp',
    };
    const encoded = defaultCodec.encode(value) as Record<string, unknown>;
    expect(Object.hasOwn(encoded, TAG)).toBe(false);
    expect(roundTrip(value)).toEqual(value);
  });

  it('keeps __proto__ keys as data', () => {
    const value = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as Record<string, unknown>;
    const out = roundTrip(value) as Record<string, unknown>;
    expect(Object.hasOwn(out, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
  });

  it('keeps null-prototype objects null-prototype, also nested and with __proto__ or $sp keys', () => {
    const bare = Object.assign(Object.create(null) as Record<string, unknown>, { x: 1, [TAG]: 'Date' });
    Object.defineProperty(bare, '__proto__', { value: { y: 2 }, enumerable: true, writable: true, configurable: true });
    bare.inner = Object.assign(Object.create(null) as object, { z: [Object.create(null)] });
    const out = roundTrip({ bare }) as { bare: Record<string, any> };
    expect(Object.getPrototypeOf(out.bare)).toBeNull();
    expect(Object.keys(out.bare)).toEqual(['x', TAG, '__proto__', 'inner']);
    expect(out.bare.__proto__).toEqual({ y: 2 });
    expect(out.bare[TAG]).toBe('Date');
    expect(Object.getPrototypeOf(out.bare.inner)).toBeNull();
    expect(Object.getPrototypeOf(out.bare.inner.z[0])).toBeNull();
    expect(() => defaultCodec.decode({ [TAG]: 'null', v: [1] })).toThrow(CorruptCheckpointError);
  });

  it('refuses objects whose prototype is another object rather than storing them as plain', () => {
    const error = catchError(() => defaultCodec.encode({ odd: Object.create(Object.create(null)) }));
    expect(UnserializableStateError.isInstance(error)).toBe(true);
    expect(error.path).toBe('odd');
  });

  it('encodes registered custom types (whose encoding may use other tags)', () => {
    const codec = new Codec([moneyType]);
    expect(codec.registeredTypes).toEqual(['Money']);
    const out = roundTrip({ price: new Money(1999n, 'EUR'), list: [new Money(1n, 'USD')] }, codec) as { price: Money; list: Money[] };
    expect(out.price).toBeInstanceOf(Money);
    expect(out.price.amount).toBe(1999n);
    expect(out.list[0]!.currency).toBe('USD');
  });

  it('shares are copied (a DAG is fine, only cycles are errors)', () => {
    const shared = { x: 1 };
    const out = roundTrip({ a: shared, b: shared, c: [shared, shared] }) as { a: object; b: object };
    expect(out.a).toEqual({ x: 1 });
    expect(out.b).toEqual({ x: 1 });
  });
});

describe('Codec errors', () => {
  it('names the path of a function', () => {
    const state = { messages: [], client: { send: () => 1 } };
    const error = catchError(() => defaultCodec.encode(state, { path: 'nodeStates.agent.internalState' }));
    expect(UnserializableStateError.isInstance(error)).toBe(true);
    expect(error).toBeInstanceOf(UnserializableStateError);
    expect(error.path).toBe('nodeStates.agent.internalState.client.send');
    expect(error.message).toContain('nodeStates.agent.internalState.client.send');
    expect(error.message).toContain('function');
  });

  it('names array indexes and odd keys', () => {
    const error = catchError(() =>
      defaultCodec.encode({ messages: [{}, {}, {}, { tool: Symbol('x') }], 'odd key': 1 }, { path: 'state' }),
    );
    expect(error.path).toBe('state.messages[3].tool');
    const odd = catchError(() => defaultCodec.encode({ 'my key': [() => 1] }));
    expect(odd.path).toBe('["my key"][0]');
    expect(catchError(() => defaultCodec.encode(() => 1)).path).toBe('(root)');
  });

  it('rejects class instances without a codec, sockets, WeakMap, WeakSet and Promise', () => {
    class Client {
      connected = true;
    }
    const cases: Array<[unknown, string]> = [
      [new Client(), 'Client'],
      [new Socket(), 'Socket'],
      [new WeakMap(), 'WeakMap'],
      [new WeakSet(), 'WeakSet'],
      [Promise.resolve(1), 'Promise'],
      [/re/, 'RegExp'],
      [new Error('boom'), 'Error'],
    ];
    for (const [value, name] of cases) {
      const error = catchError(() => defaultCodec.encode({ internalState: { client: value } }, { path: 'nodeStates.agent' }));
      expect(error.path).toBe('nodeStates.agent.internalState.client');
      expect(error.message).toContain(name);
    }
    expect(catchError(() => defaultCodec.encode({ c: new Client() })).message).toContain('codec.register');
  });

  it('reports circular references with both paths', () => {
    const a: Record<string, unknown> = { list: [] };
    (a.list as unknown[]).push({ back: a });
    const error = catchError(() => defaultCodec.encode(a, { path: 'state' }));
    expect(error.path).toBe('state.list[0].back');
    expect(error.message).toContain('circular');
    expect(error.message).toContain('points back to state');
    const m = new Map<string, unknown>();
    m.set('self', m);
    expect(catchError(() => defaultCodec.encode({ m })).message).toContain('circular');
  });

  it('names Map and Set members', () => {
    const error = catchError(() => defaultCodec.encode({ cache: new Map([['k', () => 1]]) }, { path: 'x' }));
    expect(error.path).toBe('x.cache.get("k")');
    const setError = catchError(() => defaultCodec.encode({ s: new Set([1, Symbol('y')]) }));
    expect(setError.path).toBe('s.values()[1]');
  });

  it('rejects symbol-keyed properties instead of dropping them', () => {
    const error = catchError(() => defaultCodec.encode({ a: { [Symbol('secret')]: 1 } }));
    expect(error.path).toBe('a[Symbol(secret)]');
  });

  it('wraps a custom encoder that throws', () => {
    const codec = new Codec().register({ name: 'Bad', is: (v) => v instanceof Money, encode: () => { throw new Error('nope'); }, decode: (j) => j });
    const error = catchError(() => codec.encode({ m: new Money(1n, 'x') }));
    expect(error.message).toContain('nope');
    expect(error.path).toBe('m');
  });

  it('validates registrations', () => {
    const codec = new Codec([moneyType]);
    expect(() => codec.register(moneyType)).toThrow(InvalidArgumentError);
    expect(() => codec.register({ ...moneyType, name: '' })).toThrow(InvalidArgumentError);
    expect(() => codec.register({ ...moneyType, name: 'X', decode: undefined as never })).toThrow(/decode/);
  });

  it('decoding an unregistered custom type names it and its path', () => {
    const json = new Codec([moneyType]).encode({ price: new Money(1n, 'EUR') });
    const error = catchError(() => new Codec().decode(json));
    expect(UnserializableStateError.isInstance(error)).toBe(true);
    expect(error.message).toContain('Money');
    expect(error.path).toBe('price');
  });

  it('malformed tagged JSON is a CorruptCheckpointError', () => {
    const bad: JsonValue[] = [
      { [TAG]: 'nope' },
      { [TAG]: 'num', v: 'zero' },
      { [TAG]: 'BigInt', v: 1 },
      { [TAG]: 'BigInt', v: '1.5' },
      { [TAG]: 'Date', v: 5 },
      { [TAG]: 'Map', v: 1 },
      { [TAG]: 'Map', v: [[1]] },
      { [TAG]: 'Set', v: {} },
      { [TAG]: 'Buffer', v: 3 },
      { [TAG]: 'TypedArray', t: 'Nope', v: '' },
    ];
    for (const json of bad) expect(() => defaultCodec.decode({ deep: [json] })).toThrow(CorruptCheckpointError);
    expect(() => defaultCodec.parse('{not json')).toThrow(CorruptCheckpointError);
  });
});

describe('Codec redaction and hooks', () => {
  it('redacts keys case-insensitively and strings matching patterns', () => {
    const rules = compileRedaction({ keys: ['apiKey', 'PASSWORD'], patterns: [/sk-[a-z0-9]+/g] });
    const value = {
      APIKEY: 'k',
      nested: { password: { deep: 1 }, note: 'token sk-abc123 here', safe: 'fine' },
      list: ['sk-zzz', 'ok'],
      map: new Map<unknown, unknown>([['apikey', 'x'], ['other', 'sk-1']]),
    };
    const out = defaultCodec.decode(defaultCodec.encode(value, { redact: rules })) as typeof value;
    expect(out.APIKEY).toBe(REDACTED);
    expect(out.nested.password).toBe(REDACTED);
    expect(out.nested.note).toBe(REDACTED);
    expect(out.nested.safe).toBe('fine');
    expect(out.list).toEqual([REDACTED, 'ok']);
    expect(out.map.get('apikey')).toBe(REDACTED);
    expect(out.map.get('other')).toBe(REDACTED);
    // a global regex is stateful: applying it twice must give the same answer
    expect(defaultCodec.encode(['sk-a1', 'sk-a1'], { redact: rules })).toEqual([REDACTED, REDACTED]);
  });

  it('compileRedaction validates and skips empty configs', () => {
    expect(compileRedaction(undefined)).toBeUndefined();
    expect(compileRedaction({})).toBeUndefined();
    expect(() => compileRedaction({ keys: [1 as never] })).toThrow(InvalidArgumentError);
  });

  it('calls leave bottom-up and lets enter short-circuit frozen subtrees', () => {
    const seen: Array<[string, boolean]> = [];
    const frozen = Object.freeze({ a: Object.freeze([1, 2]) });
    const mutable = { b: [1] };
    const codec = new Codec();
    codec.encode(
      { frozen, mutable, m: new Map([[1, 2]]) },
      {
        hooks: {
          leave: (json, source, immutable) => {
            seen.push([JSON.stringify(json), immutable && source !== undefined]);
            return json;
          },
        },
      },
    );
    expect(seen).toContainEqual(['[1,2]', true]);
    expect(seen).toContainEqual(['{"a":[1,2]}', true]);
    expect(seen).toContainEqual(['[1]', false]);
    expect(seen).toContainEqual(['{"b":[1]}', false]);
    const out = codec.encode({ frozen }, { hooks: { enter: (s) => (s === frozen ? 'cached' : undefined) } });
    expect(out).toEqual({ frozen: 'cached' });
  });

  it('a frozen object holding a Date or Map is not immutable', () => {
    const flags: boolean[] = [];
    new Codec().encode(Object.freeze({ d: new Date(0) }), { hooks: { leave: (json, _s, immutable) => (flags.push(immutable), json) } });
    expect(flags).toEqual([false]);
  });

  it('expand lets a caller resolve its own tags', () => {
    const json = { list: { [TAG]: 'ref', h: 'x' } } as JsonValue;
    const out = defaultCodec.decode(json, { expand: (t) => (t[TAG] === 'ref' ? [1, { [TAG]: 'undefined' }] : undefined) });
    expect(out).toEqual({ list: [1, undefined] });
  });

  it('formats paths', () => {
    expect(formatPath('', [])).toBe('(root)');
    expect(formatPath('a', ['b', 0, 'c d', { text: '.get(1)' }])).toBe('a.b[0]["c d"].get(1)');
    expect(formatPath('', ['x'])).toBe('x');
  });
});
