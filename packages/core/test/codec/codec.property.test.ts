import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { Codec, DEFAULT_MAX_DEPTH, TAG } from '../../src/codec/index.js';
import { UnserializableStateError } from '../../src/errors.js';

// Property suite: every value built from the supported types either round-trips exactly (prototypes, holes,
// -0, NaN, key order included) or is refused with UnserializableStateError naming a path. Replay a failure
// with FC_SEED=<seed printed below> (fast-check also prints the failing path to shrink from).
const seed = process.env.FC_SEED === undefined ? Date.now() % 2 ** 31 : Number(process.env.FC_SEED);

class Money {
  constructor(
    readonly cents: bigint,
    readonly meta: unknown,
  ) {}
}
const moneyType = {
  name: 'Money',
  is: (v: unknown) => v instanceof Money,
  encode: (m: Money) => ({ cents: m.cents, meta: m.meta }),
  decode: (j: { cents: bigint; meta: unknown }) => new Money(j.cents, j.meta),
};
const codec = new Codec([moneyType]);

/** First difference between two values, or undefined when they are the same value in every observable way. */
function difference(a: unknown, b: unknown, path = '$'): string | undefined {
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) {
    return Object.is(a, b) ? undefined : `${path}: ${String(a)} !== ${String(b)}`;
  }
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return `${path}: prototypes differ`;
  if (a instanceof Date) return Object.is(a.getTime(), (b as Date).getTime()) ? undefined : `${path}: dates differ`;
  if (ArrayBuffer.isView(a) || a instanceof ArrayBuffer) {
    const bytes = (x: ArrayBufferView | ArrayBuffer) =>
      x instanceof ArrayBuffer ? Buffer.from(x) : Buffer.from(x.buffer, x.byteOffset, x.byteLength);
    return bytes(a).equals(bytes(b as ArrayBufferView)) ? undefined : `${path}: bytes differ`;
  }
  if (a instanceof Set) return difference([...a], [...(b as Set<unknown>)], `${path}.values()`);
  if (a instanceof Map) {
    const right = [...(b as Map<unknown, unknown>)];
    if (a.size !== right.length) return `${path}: sizes differ`;
    let i = 0;
    for (const [k, v] of a) {
      const found = difference(k, right[i]![0], `${path}.key(${i})`) ?? difference(v, right[i]![1], `${path}.get(${i})`);
      if (found) return found;
      i += 1;
    }
    return undefined;
  }
  if (a instanceof Money) return difference(a.cents, (b as Money).cents, `${path}.cents`) ?? difference(a.meta, (b as Money).meta, `${path}.meta`);
  if (Array.isArray(a) && a.length !== (b as unknown[]).length) return `${path}: lengths differ`;
  // Object.keys lists only the elements present, so holes must match too.
  const keys = Object.keys(a);
  const otherKeys = Object.keys(b);
  if (keys.join('\u0000') !== otherKeys.join('\u0000')) return `${path}: keys ${JSON.stringify(keys)} !== ${JSON.stringify(otherKeys)}`;
  for (const key of keys) {
    const found = difference((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key], `${path}[${JSON.stringify(key)}]`);
    if (found) return found;
  }
  return undefined;
}

/** Round-trips through the text form; a refusal must be a typed error with a path, anything else fails. */
function check(value: unknown, options: { mustRoundTrip: boolean }): void {
  const used = codec;
  let text: string;
  try {
    text = used.stringify(value);
  } catch (error) {
    if (!UnserializableStateError.isInstance(error)) throw error;
    expect((error as UnserializableStateError).path).not.toBe('');
    if (options.mustRoundTrip) throw error;
    // the only thing a chain of supported containers may be refused for
    expect((error as Error).message).toContain(`nested deeper than ${DEFAULT_MAX_DEPTH.toLocaleString('en-US')} levels`);
    outcomes.refused += 1;
    return;
  }
  const found = difference(value, used.parse(text));
  if (found) throw new Error(`silent change at ${found}`);
  if (!options.mustRoundTrip) outcomes.roundTripped += 1;
}

const outcomes = { roundTripped: 0, refused: 0 };

const key = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 6 }),
  fc.constantFrom('__proto__', TAG, `${TAG}$`, `${TAG}$$`, 'constructor', 'v', 't', 'n', '0', '-0', '1e3', 'length', 'toString'),
);
const text = fc.oneof(fc.string({ unit: 'binary', maxLength: 12 }), fc.string({ unit: 'grapheme', maxLength: 8 }), fc.constantFrom('\ud800', '\udc00x', TAG));
const leaf = fc.oneof(
  text,
  fc.double(),
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 0),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.bigInt(),
  fc.date({ noInvalidDate: false }),
  fc.uint8Array({ maxLength: 8 }),
  fc.uint8Array({ maxLength: 8 }).map((bytes) => Buffer.from(bytes)),
  fc.int16Array({ maxLength: 4 }),
  fc.float64Array({ maxLength: 4 }),
  fc.bigInt64Array({ maxLength: 3 }),
  fc.uint8Array({ maxLength: 8 }).map((bytes) => bytes.buffer),
);

const { value } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(tie('value'), { maxLength: 5 }),
    fc.sparseArray(tie('value'), { maxLength: 12, maxNumElements: 4 }),
    fc.sparseArray(tie('value'), { maxLength: 2 ** 32 - 1, maxNumElements: 2 }),
    // dictionary makes null-prototype objects too, and defines __proto__ keys as own data
    fc.dictionary(key, tie('value'), { maxKeys: 5 }),
    fc.array(fc.tuple(tie('value'), tie('value')), { maxLength: 4 }).map((pairs) => new Map(pairs)),
    fc.array(tie('value'), { maxLength: 4 }).map((items) => new Set(items)),
    fc.tuple(fc.bigInt(), tie('value')).map(([cents, meta]) => new Money(cents, meta)),
  ),
}));

const kinds: Array<(inner: unknown) => unknown> = [
  (inner) => ({ a: inner }),
  (inner) => [inner],
  (inner) => Object.assign(Object.create(null) as object, { n: inner }),
  (inner) => new Map([[inner, 1]]),
  (inner) => new Set([inner]),
  (inner) => new Money(1n, inner),
  (inner) => [, inner], // eslint-disable-line no-sparse-arrays
];
/** A chain of containers (kinds picked at random) around a random value, near DEFAULT_MAX_DEPTH JSON levels. */
const deep = fc.tuple(fc.array(fc.nat(kinds.length - 1), { minLength: 250, maxLength: 1100, size: 'max' }), value).map(([chain, inner]) => {
  let out = inner;
  for (const k of chain) out = kinds[k]!(out);
  return out;
});

describe('Codec property suite', () => {
  beforeAll(() => {
    console.log(`codec property suite: seed ${seed} (replay with FC_SEED=${seed})`);
  });
  afterAll(() => {
    console.log(`codec property suite: near the limit ${outcomes.roundTripped} round-tripped, ${outcomes.refused} refused`);
  });

  it('any value of the supported types round-trips exactly', () => {
    fc.assert(
      fc.property(value, (v) => check(v, { mustRoundTrip: true })),
      { seed, numRuns: 2000 },
    );
  });

  it('values nested around the depth limit round-trip or are refused with a path, never a RangeError', () => {
    fc.assert(
      fc.property(deep, (v) => check(v, { mustRoundTrip: false })),
      { seed, numRuns: 150 },
    );
    // both sides of the limit were exercised
    expect(outcomes.roundTripped).toBeGreaterThan(0);
    expect(outcomes.refused).toBeGreaterThan(0);
  });

  it('a stored value deeper than the reader allows is refused with a path, never a RangeError', () => {
    const reader = new Codec([moneyType], { maxDepth: 300 });
    fc.assert(
      fc.property(deep, (v) => {
        let text: string;
        try {
          text = codec.stringify(v);
        } catch {
          return; // covered above
        }
        try {
          const found = difference(v, reader.parse(text));
          if (found) throw new Error(`silent change at ${found}`);
        } catch (error) {
          if (!UnserializableStateError.isInstance(error)) throw error;
          expect((error as UnserializableStateError).path).not.toBe('');
          expect((error as Error).message).toContain('nested deeper than 300 levels');
        }
      }),
      { seed, numRuns: 100 },
    );
  });
});
