import { types } from 'node:util';
import { CorruptCheckpointError, InvalidArgumentError, UnserializableStateError } from '../errors.js';

/**
 * Tagged JSON. Values JSON cannot represent are written as tag objects `{ "$sp": <type>, "v": ... }`.
 * A user object that has a key `$sp` (or `$sp$`, `$sp$$`...) is escaped by appending one `$` to that key,
 * so in encoded JSON an object with a literal `$sp` key is always a tag, never user data. The store relies
 * on that for its own tags (`ref`, `arr`).
 */
export const TAG = '$sp';

export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

/** A user type the codec learns to encode: `is` recognises it, `encode` returns a JSON-able value. */
export interface CustomType<T = any> {
  /** Stored with every value, so keep it stable across releases. */
  name: string;
  is(value: unknown): boolean;
  /** May return anything the codec can encode (plain data, Dates, Maps, other registered types). */
  encode(value: T): unknown;
  /** Receives the decoded form of what `encode` returned. */
  decode(json: any): T;
}

/** Compiled redaction rules (see `compileRedaction`). */
export interface RedactRules {
  /** Lower-cased object keys (and string Map keys) whose values are replaced. */
  keys: ReadonlySet<string>;
  /** String values matching any pattern are replaced. */
  patterns: readonly RegExp[];
}

export const REDACTED = '[REDACTED]';

/** Hooks the store uses to split the encoded tree into blobs and to memoize frozen subtrees. */
export interface EncodeHooks {
  /** Called before encoding a plain object or array; return a value to use instead of encoding it. */
  enter?(source: object): JsonValue | undefined;
  /**
   * Called bottom-up after each container (plain object, array, Map/Set/custom/binary tag object) is encoded,
   * with its children already passed through `leave`; returns what to put in its place. `source` is set for
   * plain objects and arrays only; `immutable` is true when the source and everything under it is frozen plain
   * data (so it can never change).
   */
  leave?(json: JsonObject | JsonValue[], source: object | undefined, immutable: boolean): JsonValue;
}

export interface EncodeOptions {
  /** Path of the value in the state, used in error messages, e.g. `nodeStates.agent.internalState`. */
  path?: string;
  redact?: RedactRules;
  hooks?: EncodeHooks;
}

export interface DecodeOptions {
  /** Replaces a tag object the codec does not know (the store resolves blob references this way). */
  expand?(tagged: JsonObject): JsonValue | undefined;
  path?: string;
}

type Seg = string | number | { text: string };

const TYPED_ARRAYS: Record<string, new (buffer: ArrayBuffer) => ArrayBufferView> = {
  Int8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
};


const IDENT = /^[A-Za-z_$][\w$]*$/;
const ESCAPED_KEY = /^\$sp\$*$/;

function isEscapable(key: string): boolean {
  return key.charCodeAt(0) === 36 && key.startsWith('$sp') && ESCAPED_KEY.test(key);
}

/** Formats a path: `a.b[3]["odd key"]`. */
export function formatPath(root: string, segs: readonly Seg[]): string {
  let out = root;
  for (const seg of segs) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (typeof seg === 'string') out += IDENT.test(seg) ? (out ? `.${seg}` : seg) : `[${JSON.stringify(seg)}]`;
    else out += seg.text;
  }
  return out || '(root)';
}

function describeKey(key: unknown): string {
  if (typeof key === 'string') return JSON.stringify(key.length > 40 ? `${key.slice(0, 40)}…` : key);
  if (typeof key === 'number' || typeof key === 'boolean' || key === null || key === undefined) return String(key);
  if (typeof key === 'bigint') return `${key}n`;
  return `<${typeof key}>`;
}

function describe(value: unknown): string {
  if (typeof value === 'function') return `a function${value.name ? ` (${value.name})` : ''}`;
  if (typeof value === 'symbol') return `a symbol (${String(value)})`;
  const ctor = (value as { constructor?: { name?: string } }).constructor?.name;
  if (value instanceof WeakMap) return 'a WeakMap';
  if (value instanceof WeakSet) return 'a WeakSet';
  if (value instanceof Promise) return 'a Promise';
  return `an instance of ${ctor || 'an unknown class'}`;
}

// Objects from another realm (a vm context, jest's sandbox, structuredClone there) have another
// Object.prototype: a prototype that is itself a root is what makes an object plain data.
function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === null || Object.getPrototypeOf(proto) === null;
}

function toBase64(view: ArrayBufferView | ArrayBuffer): string {
  return view instanceof ArrayBuffer
    ? Buffer.from(view).toString('base64')
    : Buffer.from(view.buffer, view.byteOffset, view.byteLength).toString('base64');
}

function fromBase64(text: unknown): ArrayBuffer {
  if (typeof text !== 'string') throw new TypeError('expected a base64 string');
  const bytes = Buffer.from(text, 'base64');
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

function setKey(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

interface EncodeContext {
  root: string;
  segs: Seg[];
  /** Ancestors on the current path, with the path depth where each was entered (cycle detection). */
  ancestors: Map<object, number>;
  redact: RedactRules | undefined;
  hooks: EncodeHooks | undefined;
  /** Set when anything mutable was met since the innermost container started. */
  mutable: boolean;
}

/**
 * JSON codec with reversible tags for Date, Map, Set, BigInt, Uint8Array, Buffer (decodes as Buffer),
 * other typed arrays, ArrayBuffer, undefined, NaN, ±Infinity, -0 and registered custom types.
 * Anything else (functions, symbols, class instances without a codec, WeakMap, Promise, sockets,
 * circular references) throws `UnserializableStateError` naming the path.
 */
export class Codec {
  private readonly types = new Map<string, CustomType>();
  private typeList: CustomType[] = [];

  constructor(types: readonly CustomType[] = []) {
    for (const type of types) this.register(type);
  }

  /** Teaches the codec a custom type. Names must be unique. Returns the codec for chaining. */
  register<T>(type: CustomType<T>): this {
    if (!type || typeof type.name !== 'string' || type.name.length === 0) {
      throw new InvalidArgumentError('codec.register: a custom type needs a non-empty name.');
    }
    for (const fn of ['is', 'encode', 'decode'] as const) {
      if (typeof type[fn] !== 'function') throw new InvalidArgumentError(`codec.register(${type.name}): ${fn} must be a function.`);
    }
    if (this.types.has(type.name)) throw new InvalidArgumentError(`codec.register: a type named '${type.name}' is already registered.`);
    this.types.set(type.name, type as CustomType);
    this.typeList = [...this.types.values()];
    return this;
  }

  /** Names of the registered custom types. */
  get registeredTypes(): string[] {
    return [...this.types.keys()];
  }

  /** Encodes a value to JSON-able data. */
  encode(value: unknown, options: EncodeOptions = {}): JsonValue {
    const ctx: EncodeContext = {
      root: options.path ?? '',
      segs: [],
      ancestors: new Map(),
      redact: options.redact,
      hooks: options.hooks,
      mutable: false,
    };
    return this.enc(value, ctx);
  }

  /** Decodes what `encode` produced. */
  decode(json: JsonValue, options: DecodeOptions = {}): unknown {
    return this.dec(json, options, options.path ?? '', []);
  }

  stringify(value: unknown, options?: EncodeOptions): string {
    return JSON.stringify(this.encode(value, options));
  }

  parse(text: string, options?: DecodeOptions): unknown {
    let json: JsonValue;
    try {
      json = JSON.parse(text) as JsonValue;
    } catch (error) {
      throw new CorruptCheckpointError(`Encoded value is not valid JSON: ${(error as Error).message}`, { cause: error });
    }
    return this.decode(json, options);
  }

  // ---- encoding -----------------------------------------------------------------------------

  private fail(ctx: EncodeContext, what: string, hint = ''): never {
    const path = formatPath(ctx.root, ctx.segs);
    const error = new UnserializableStateError(`Cannot serialize ${what} at ${path}${hint}.`);
    error.path = path;
    throw error;
  }

  private child(value: unknown, seg: Seg, ctx: EncodeContext): JsonValue {
    ctx.segs.push(seg);
    const out = this.enc(value, ctx);
    ctx.segs.pop();
    return out;
  }

  private enc(value: unknown, ctx: EncodeContext): JsonValue {
    switch (typeof value) {
      case 'string':
        return ctx.redact && ctx.redact.patterns.length > 0 && matchesAny(value, ctx.redact.patterns) ? REDACTED : value;
      case 'number':
        if (Number.isFinite(value)) return Object.is(value, -0) ? { [TAG]: 'num', v: '-0' } : value;
        return { [TAG]: 'num', v: String(value) };
      case 'boolean':
        return value;
      case 'undefined':
        return { [TAG]: 'undefined' };
      case 'bigint':
        return { [TAG]: 'BigInt', v: value.toString() };
      case 'function':
      case 'symbol':
        return this.fail(ctx, describe(value));
      default:
        break;
    }
    if (value === null) return null;
    const obj = value as object;
    const seenAt = ctx.ancestors.get(obj);
    if (seenAt !== undefined) {
      this.fail(ctx, 'a circular reference', ` (it points back to ${formatPath(ctx.root, ctx.segs.slice(0, seenAt))})`);
    }

    if (Array.isArray(obj)) return this.encContainer(obj, ctx, true);
    // Plain objects (and null-prototype objects) are data; custom types only apply to other objects.
    if (isPlainObject(obj)) return this.encContainer(obj, ctx, false);

    // Everything below is mutable by nature (or unknown), so never memoized.
    ctx.mutable = true;
    for (const type of this.typeList) {
      let matches: boolean;
      try {
        matches = type.is(obj);
      } catch {
        matches = false;
      }
      if (!matches) continue;
      let encoded: unknown;
      try {
        encoded = type.encode(obj);
      } catch (error) {
        if (UnserializableStateError.isInstance(error)) throw error;
        this.fail(ctx, `a ${type.name} (its codec's encode threw: ${(error as Error)?.message ?? error})`);
      }
      ctx.ancestors.set(obj, ctx.segs.length);
      const inner = this.enc(encoded, ctx);
      ctx.ancestors.delete(obj);
      return this.leave({ [TAG]: 'custom', t: type.name, v: inner }, undefined, false, ctx);
    }

    if (types.isDate(obj)) {
      const time = obj.getTime();
      return { [TAG]: 'Date', v: Number.isNaN(time) ? null : obj.toISOString() };
    }
    if (Buffer.isBuffer(obj)) return this.leave({ [TAG]: 'Buffer', v: obj.toString('base64') }, undefined, false, ctx);
    if (obj instanceof Uint8Array && obj.constructor === Uint8Array) {
      return this.leave({ [TAG]: 'Uint8Array', v: toBase64(obj) }, undefined, false, ctx);
    }
    if (ArrayBuffer.isView(obj) && !(obj instanceof DataView)) {
      const name = obj.constructor.name;
      if (TYPED_ARRAYS[name]) return this.leave({ [TAG]: 'TypedArray', t: name, v: toBase64(obj) }, undefined, false, ctx);
    }
    if (obj instanceof ArrayBuffer) return this.leave({ [TAG]: 'ArrayBuffer', v: toBase64(obj) }, undefined, false, ctx);
    if (types.isMap(obj)) {
      ctx.ancestors.set(obj, ctx.segs.length);
      const pairs: JsonValue[] = [];
      let index = 0;
      for (const [key, val] of obj) {
        const k = this.child(key, { text: `.keys()[${index}]` }, ctx);
        const redacted = ctx.redact && typeof key === 'string' && ctx.redact.keys.has(key.toLowerCase());
        const v = redacted ? REDACTED : this.child(val, { text: `.get(${describeKey(key)})` }, ctx);
        pairs.push(this.leave([k, v], undefined, false, ctx));
        index += 1;
      }
      ctx.ancestors.delete(obj);
      const list = this.leave(pairs, undefined, false, ctx);
      return this.leave({ [TAG]: 'Map', v: list }, undefined, false, ctx);
    }
    if (types.isSet(obj)) {
      ctx.ancestors.set(obj, ctx.segs.length);
      const items: JsonValue[] = [];
      let index = 0;
      for (const item of obj) {
        items.push(this.child(item, { text: `.values()[${index}]` }, ctx));
        index += 1;
      }
      ctx.ancestors.delete(obj);
      const list = this.leave(items, undefined, false, ctx);
      return this.leave({ [TAG]: 'Set', v: list }, undefined, false, ctx);
    }
    return this.fail(
      ctx,
      describe(obj),
      obj instanceof WeakMap || obj instanceof WeakSet || obj instanceof Promise
        ? ''
        : ' (register a codec for it with codec.register({ name, is, encode, decode }), or keep it out of the state)',
    );
  }

  private encContainer(obj: object, ctx: EncodeContext, isArray: boolean): JsonValue {
    const hooks = ctx.hooks;
    if (hooks?.enter) {
      const cached = hooks.enter(obj);
      if (cached !== undefined) return cached;
    }
    const outerMutable = ctx.mutable;
    ctx.mutable = false;
    ctx.ancestors.set(obj, ctx.segs.length);
    let json: JsonObject | JsonValue[];
    if (isArray) {
      const arr = obj as unknown[];
      const out: JsonValue[] = new Array(arr.length);
      for (let i = 0; i < arr.length; i += 1) {
        out[i] = i in arr ? this.child(arr[i], i, ctx) : { [TAG]: 'undefined' };
      }
      json = out;
    } else {
      const out: JsonObject = {};
      const redactKeys = ctx.redact?.keys;
      for (const key of Object.keys(obj)) {
        const stored = isEscapable(key) ? `${key}$` : key;
        const value =
          redactKeys && redactKeys.size > 0 && redactKeys.has(key.toLowerCase())
            ? REDACTED
            : this.child((obj as Record<string, unknown>)[key], key, ctx);
        setKey(out, stored, value);
      }
      for (const sym of Object.getOwnPropertySymbols(obj)) {
        if (Object.prototype.propertyIsEnumerable.call(obj, sym)) {
          ctx.segs.push({ text: `[${String(sym)}]` });
          this.fail(ctx, 'a symbol-keyed property', ' (symbol keys cannot be stored)');
        }
      }
      json = out;
    }
    ctx.ancestors.delete(obj);
    const immutable = !ctx.mutable && Object.isFrozen(obj);
    ctx.mutable = outerMutable || !immutable;
    return hooks?.leave ? hooks.leave(json, obj, immutable) : json;
  }

  private leave(json: JsonObject | JsonValue[], source: object | undefined, immutable: boolean, ctx: EncodeContext): JsonValue {
    return ctx.hooks?.leave ? ctx.hooks.leave(json, source, immutable) : json;
  }

  // ---- decoding -----------------------------------------------------------------------------

  private bad(root: string, segs: Seg[], what: string): never {
    throw new CorruptCheckpointError(`Malformed encoded value at ${formatPath(root, segs)}: ${what}.`);
  }

  private expand(json: JsonValue, options: DecodeOptions): JsonValue {
    let current = json;
    for (let guard = 0; options.expand && guard < 64; guard += 1) {
      if (current === null || typeof current !== 'object' || Array.isArray(current) || !Object.hasOwn(current, TAG)) break;
      const next = options.expand(current);
      if (next === undefined) break;
      current = next;
    }
    return current;
  }

  private dec(input: JsonValue, options: DecodeOptions, root: string, segs: Seg[]): unknown {
    const json = this.expand(input, options);
    if (json === null || typeof json !== 'object') return json;
    if (Array.isArray(json)) {
      const out = new Array(json.length);
      for (let i = 0; i < json.length; i += 1) {
        segs.push(i);
        out[i] = this.dec(json[i]!, options, root, segs);
        segs.pop();
      }
      return out;
    }
    if (!Object.hasOwn(json, TAG)) {
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(json)) {
        const original = isEscapable(key) ? key.slice(0, -1) : key;
        segs.push(original);
        setKey(out, original, this.dec(json[key]!, options, root, segs));
        segs.pop();
      }
      return out;
    }
    return this.decTag(json, options, root, segs);
  }

  private decTag(json: JsonObject, options: DecodeOptions, root: string, segs: Seg[]): unknown {
    const tag = json[TAG];
    const v = json.v === undefined ? undefined : this.expand(json.v, options);
    try {
      switch (tag) {
        case 'undefined':
          return undefined;
        case 'num':
          if (v === 'NaN') return Number.NaN;
          if (v === 'Infinity') return Number.POSITIVE_INFINITY;
          if (v === '-Infinity') return Number.NEGATIVE_INFINITY;
          if (v === '-0') return -0;
          return this.bad(root, segs, `unknown number ${JSON.stringify(v)}`);
        case 'BigInt':
          if (typeof v !== 'string') return this.bad(root, segs, 'BigInt without digits');
          return BigInt(v);
        case 'Date':
          if (v !== null && typeof v !== 'string') return this.bad(root, segs, 'Date without a time');
          return new Date(v === null ? Number.NaN : v);
        case 'Buffer':
          return Buffer.from(fromBase64(v));
        case 'Uint8Array':
          return new Uint8Array(fromBase64(v));
        case 'ArrayBuffer':
          return fromBase64(v);
        case 'TypedArray': {
          const ctor = TYPED_ARRAYS[String(json.t)];
          if (!ctor) return this.bad(root, segs, `unknown typed array ${JSON.stringify(json.t)}`);
          return new ctor(fromBase64(v));
        }
        case 'Map': {
          if (!Array.isArray(v)) return this.bad(root, segs, 'Map without entries');
          const map = new Map();
          for (let i = 0; i < v.length; i += 1) {
            const pair = this.expand(v[i]!, options);
            if (!Array.isArray(pair) || pair.length !== 2) return this.bad(root, segs, `Map entry ${i} is not a pair`);
            segs.push({ text: `.keys()[${i}]` });
            const key = this.dec(pair[0]!, options, root, segs);
            segs.pop();
            segs.push({ text: `.get(${describeKey(key)})` });
            map.set(key, this.dec(pair[1]!, options, root, segs));
            segs.pop();
          }
          return map;
        }
        case 'Set': {
          if (!Array.isArray(v)) return this.bad(root, segs, 'Set without values');
          const set = new Set();
          for (let i = 0; i < v.length; i += 1) {
            segs.push({ text: `.values()[${i}]` });
            set.add(this.dec(v[i]!, options, root, segs));
            segs.pop();
          }
          return set;
        }
        case 'custom': {
          const type = this.types.get(String(json.t));
          if (!type) {
            const path = formatPath(root, segs);
            const error = new UnserializableStateError(
              `No codec is registered for the custom type ${JSON.stringify(json.t)} found at ${path}: register it (codec.register) before decoding.`,
            );
            error.path = path;
            throw error;
          }
          const inner = this.dec(json.v ?? null, options, root, segs);
          return type.decode(inner);
        }
        default:
          return this.bad(root, segs, `unknown tag ${JSON.stringify(tag)}`);
      }
    } catch (error) {
      if (CorruptCheckpointError.isInstance(error) || UnserializableStateError.isInstance(error)) throw error;
      return this.bad(root, segs, `${String(tag)}: ${(error as Error)?.message ?? error}`);
    }
  }
}

function matchesAny(text: string, patterns: readonly RegExp[]): boolean {
  for (const pattern of patterns) {
    pattern.lastIndex = 0;
    if (pattern.test(text)) {
      pattern.lastIndex = 0;
      return true;
    }
  }
  return false;
}

/** The shared codec instance (used by the store unless one is passed in). */
export const defaultCodec = new Codec();
