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
  /** Overrides the codec's `maxDepth` for this call. */
  maxDepth?: number;
  redact?: RedactRules;
  hooks?: EncodeHooks;
}

export interface DecodeOptions {
  /** Replaces a tag object the codec does not know (the store resolves blob references this way). */
  expand?(tagged: JsonObject): JsonValue | undefined;
  path?: string;
  /** Overrides the codec's `maxDepth` for this call. */
  maxDepth?: number;
}

export interface CodecOptions {
  /**
   * Deepest nesting of the encoded JSON a value may have (see `DEFAULT_MAX_DEPTH`); deeper values throw
   * `UnserializableStateError`, on encode and on decode.
   */
  maxDepth?: number;
}

/**
 * 1,000 levels of encoded JSON: far deeper than real agent state, and far enough below the stack V8 gives
 * the recursive encoder, decoder, `JSON.stringify` and the store's hashing that none of them can overflow.
 * Plain objects and arrays count one level each; a Map's entries sit three levels below it (tag, list,
 * pair), a Set's values two, a null-prototype object's values two, a custom type's value one.
 */
export const DEFAULT_MAX_DEPTH = 1000;

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
const OTHER = 0;
const PLAIN = 1;
const NULL_PROTO = 2;
const ARRAY = 3;

// Objects from another realm (a vm context, jest's sandbox, structuredClone there) have another
// Object.prototype: a root prototype carrying Object.prototype's own methods is one. A null prototype is kept
// as such (tagged); any other prototype (a class, `Object.create(someObject)`) is not plain data.
function objectKind(value: object): number {
  const proto = Object.getPrototypeOf(value);
  if (proto === Object.prototype) return PLAIN;
  if (proto === null) return NULL_PROTO;
  return Object.getPrototypeOf(proto) === null && Object.hasOwn(proto, 'isPrototypeOf') ? PLAIN : OTHER;
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

/** A run of `n` array holes: `{ "$sp": "hole", "n": 3 }`, only ever an element of an array. */
function isHole(item: JsonValue): item is JsonObject {
  // A literal key (TAG's value) keeps this a fast named load: it runs for every array element decoded.
  return typeof item === 'object' && item !== null && (item as { $sp?: unknown }).$sp === 'hole';
}

const MAX_ARRAY_LENGTH = 2 ** 32 - 1;

function checkMaxDepth(maxDepth: unknown, where: string): number {
  if (!Number.isSafeInteger(maxDepth) || (maxDepth as number) < 1) {
    throw new InvalidArgumentError(`${where}: maxDepth must be a positive integer (default ${DEFAULT_MAX_DEPTH}).`);
  }
  return maxDepth as number;
}

function unserializable(message: string, path: string): UnserializableStateError {
  const error = new UnserializableStateError(message);
  error.path = path;
  return error;
}

/** A path for a message: a path 1,000 levels deep is kept whole in `error.path` only. */
function shortPath(path: string): string {
  return path.length <= 300 ? path : `${path.slice(0, 120)}…${path.slice(-160)}`;
}

function tooDeep(maxDepth: number, path: string, stored: boolean): UnserializableStateError {
  const levels = `nested deeper than ${maxDepth.toLocaleString('en-US')} levels at ${shortPath(path)}`;
  return unserializable(
    stored
      ? `Stored value is ${levels}; read it with a codec allowing more (new Codec(types, { maxDepth })).`
      : `State is ${levels}; flatten it or store it as a string (or raise the limit: new Codec(types, { maxDepth })).`,
    path,
  );
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
  /** JSON containers around the value being encoded. */
  depth: number;
  maxDepth: number;
  /** JSON container levels of the value just encoded (set by containers; callers reset it to 0). */
  height: number;
}

interface DecodeContext {
  options: DecodeOptions;
  root: string;
  segs: Seg[];
  maxDepth: number;
}

/**
 * JSON codec with reversible tags for Date, Map, Set, BigInt, Uint8Array, Buffer (decodes as Buffer),
 * other typed arrays, ArrayBuffer, undefined, NaN, ±Infinity, -0, array holes, null-prototype objects and
 * registered custom types. Anything else (functions, symbols, class instances without a codec, WeakMap,
 * Promise, sockets, circular references, non-index properties on arrays, nesting deeper than `maxDepth`)
 * throws `UnserializableStateError` naming the path.
 */
export class Codec {
  private readonly types = new Map<string, CustomType>();
  private typeList: CustomType[] = [];
  /** JSON height of frozen containers a hook may return from its cache (their depth is checked on reuse). */
  private readonly heights = new WeakMap<object, number>();
  /** Deepest nesting of encoded JSON this codec writes and reads (see `DEFAULT_MAX_DEPTH`). */
  readonly maxDepth: number;

  constructor(types: readonly CustomType[] = [], options: CodecOptions = {}) {
    this.maxDepth = options.maxDepth === undefined ? DEFAULT_MAX_DEPTH : checkMaxDepth(options.maxDepth, 'new Codec');
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
      depth: 0,
      maxDepth: options.maxDepth === undefined ? this.maxDepth : checkMaxDepth(options.maxDepth, 'codec.encode'),
      height: 0,
    };
    return this.enc(value, ctx);
  }

  /** Decodes what `encode` produced. */
  decode(json: JsonValue, options: DecodeOptions = {}): unknown {
    const maxDepth = options.maxDepth === undefined ? this.maxDepth : checkMaxDepth(options.maxDepth, 'codec.decode');
    return this.dec(json, { options, root: options.path ?? '', segs: [], maxDepth }, 0);
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
    throw unserializable(`Cannot serialize ${what} at ${path}${hint}.`, path);
  }

  /** Enters a container whose children sit `levels` JSON levels below it. */
  private descend(ctx: EncodeContext, levels: number): void {
    if (ctx.depth + levels > ctx.maxDepth) throw tooDeep(ctx.maxDepth, formatPath(ctx.root, ctx.segs), false);
    ctx.depth += levels;
  }

  /** Encodes a child; `ctx.height` is then its height. */
  private child(value: unknown, seg: Seg, ctx: EncodeContext): JsonValue {
    ctx.segs.push(seg);
    ctx.height = 0;
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
    if (Array.isArray(obj)) return this.encContainer(obj, ctx, ARRAY);
    // Plain objects (and null-prototype objects) are data; custom types only apply to other objects.
    const kind = objectKind(obj);
    return kind === OTHER ? this.encOther(obj, ctx) : this.encContainer(obj, ctx, kind);
  }

  // One function for arrays and objects, and `enc` small: the recursion goes enc -> encContainer -> enc, so a
  // deep value needs little stack, and plain data pays for no extra call.
  private encContainer(obj: object, ctx: EncodeContext, kind: number): JsonValue {
    const levels = kind === NULL_PROTO ? 2 : 1;
    if (ctx.depth + levels > ctx.maxDepth) throw tooDeep(ctx.maxDepth, formatPath(ctx.root, ctx.segs), false);
    const hooks = ctx.hooks;
    if (hooks?.enter) {
      const cached = hooks.enter(obj);
      if (cached !== undefined) {
        // A frozen subtree reused deeper than where it was first encoded may now cross the limit.
        const height = this.heights.get(obj) ?? levels;
        if (ctx.depth + height > ctx.maxDepth) throw tooDeep(ctx.maxDepth, formatPath(ctx.root, ctx.segs), false);
        ctx.height = height;
        return cached;
      }
    }
    const outerMutable = ctx.mutable;
    ctx.mutable = false;
    ctx.ancestors.set(obj, ctx.segs.length);
    ctx.depth += levels;
    const segs = ctx.segs;
    let height = 0;
    let json: JsonObject | JsonValue[];
    if (kind === ARRAY) {
      const arr = obj as unknown[];
      const n = arr.length;
      const out: JsonValue[] = [];
      let dense = true;
      for (let i = 0; i < n; i += 1) {
        if (!(i in arr)) {
          height = Math.max(height, this.encSparse(arr, i, out, ctx));
          dense = false;
          break;
        }
        segs.push(i);
        ctx.height = 0;
        out.push(this.enc(arr[i], ctx));
        if (ctx.height > height) height = ctx.height;
        segs.pop();
      }
      if (dense && (Object.keys(arr).length !== n || Object.getOwnPropertySymbols(arr).length !== 0)) {
        this.refuseNamed(arr, n, ctx);
      }
      json = out;
    } else {
      const out: JsonObject = {};
      const redactKeys = ctx.redact && ctx.redact.keys.size > 0 ? ctx.redact.keys : undefined;
      for (const key of Object.keys(obj)) {
        let value: JsonValue = REDACTED;
        if (redactKeys === undefined || !redactKeys.has(key.toLowerCase())) {
          segs.push(key);
          ctx.height = 0;
          value = this.enc((obj as Record<string, unknown>)[key], ctx);
          if (ctx.height > height) height = ctx.height;
          segs.pop();
        }
        setKey(out, isEscapable(key) ? `${key}$` : key, value);
      }
      for (const sym of Object.getOwnPropertySymbols(obj)) {
        if (Object.prototype.propertyIsEnumerable.call(obj, sym)) this.symbolKey(sym, ctx);
      }
      json = kind === NULL_PROTO ? { [TAG]: 'null', v: this.leave(out, undefined, false, ctx) } : out;
    }
    ctx.ancestors.delete(obj);
    ctx.depth -= levels;
    ctx.height = height + levels;
    const immutable = !ctx.mutable && Object.isFrozen(obj);
    ctx.mutable = outerMutable || !immutable;
    if (immutable && hooks?.enter) this.heights.set(obj, ctx.height);
    return hooks?.leave ? hooks.leave(json, obj, immutable) : json;
  }

  /**
   * Encodes an array from its first hole on, visiting only the elements present (a sparse array can be huge);
   * runs of holes become `{ "$sp": "hole", "n": count }`. Returns the height of the deepest element.
   */
  private encSparse(arr: unknown[], from: number, out: JsonValue[], ctx: EncodeContext): number {
    const n = arr.length;
    // Own keys list the indexes first, in order: the first `from` are those already encoded.
    const keys = Object.keys(arr);
    let height = 0;
    let next = from;
    let k = from;
    for (; k < keys.length; k += 1) {
      const key = keys[k]!;
      const index = Number(key);
      if (!(Number.isInteger(index) && index >= 0 && index < n && String(index) === key)) break;
      if (index > next) out.push({ [TAG]: 'hole', n: index - next });
      ctx.segs.push(index);
      ctx.height = 0;
      out.push(this.enc(arr[index], ctx));
      if (ctx.height > height) height = ctx.height;
      ctx.segs.pop();
      next = index + 1;
    }
    if (next < n) out.push({ [TAG]: 'hole', n: n - next });
    if (k < keys.length || Object.getOwnPropertySymbols(arr).length !== 0) this.refuseNamed(arr, k, ctx);
    return height;
  }

  /** Refuses the first enumerable named key (after the `indexes` index keys) or symbol of an array. */
  private refuseNamed(arr: unknown[], indexes: number, ctx: EncodeContext): void {
    const key = Object.keys(arr)[indexes];
    if (key !== undefined) {
      ctx.segs.push(key);
      this.fail(ctx, 'a named property of an array', ' (arrays are stored as lists only: keep named values in an object)');
    }
    // Non-enumerable properties are not data, as on objects.
    for (const sym of Object.getOwnPropertySymbols(arr)) {
      if (Object.prototype.propertyIsEnumerable.call(arr, sym)) this.symbolKey(sym, ctx);
    }
  }

  private symbolKey(sym: symbol, ctx: EncodeContext): never {
    ctx.segs.push({ text: `[${String(sym)}]` });
    return this.fail(ctx, 'a symbol-keyed property', ' (symbol keys cannot be stored)');
  }

  /** Class instances: registered custom types, Date, binary data, Map and Set. */
  private encOther(obj: object, ctx: EncodeContext): JsonValue {
    // Everything here is mutable by nature (or unknown), so never memoized.
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
      this.descend(ctx, 1);
      ctx.ancestors.set(obj, ctx.segs.length);
      ctx.height = 0;
      const inner = this.enc(encoded, ctx);
      ctx.ancestors.delete(obj);
      ctx.depth -= 1;
      ctx.height += 1;
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
    if (types.isMap(obj)) return this.encMap(obj, ctx);
    if (types.isSet(obj)) return this.encSet(obj, ctx);
    return this.fail(
      ctx,
      describe(obj),
      obj instanceof WeakMap || obj instanceof WeakSet || obj instanceof Promise
        ? ''
        : ' (register a codec for it with codec.register({ name, is, encode, decode }), or keep it out of the state)',
    );
  }

  private encMap(obj: Map<unknown, unknown>, ctx: EncodeContext): JsonValue {
    this.descend(ctx, 3);
    ctx.ancestors.set(obj, ctx.segs.length);
    const pairs: JsonValue[] = [];
    let height = 0;
    let index = 0;
    for (const [key, val] of obj) {
      const k = this.child(key, { text: `.keys()[${index}]` }, ctx);
      if (ctx.height > height) height = ctx.height;
      const redacted = ctx.redact && typeof key === 'string' && ctx.redact.keys.has(key.toLowerCase());
      const v = redacted ? REDACTED : this.child(val, { text: `.get(${describeKey(key)})` }, ctx);
      if (ctx.height > height) height = ctx.height;
      pairs.push(this.leave([k, v], undefined, false, ctx));
      index += 1;
    }
    ctx.ancestors.delete(obj);
    ctx.depth -= 3;
    ctx.height = height + 3;
    const list = this.leave(pairs, undefined, false, ctx);
    return this.leave({ [TAG]: 'Map', v: list }, undefined, false, ctx);
  }

  private encSet(obj: Set<unknown>, ctx: EncodeContext): JsonValue {
    this.descend(ctx, 2);
    ctx.ancestors.set(obj, ctx.segs.length);
    const items: JsonValue[] = [];
    let height = 0;
    let index = 0;
    for (const item of obj) {
      items.push(this.child(item, { text: `.values()[${index}]` }, ctx));
      if (ctx.height > height) height = ctx.height;
      index += 1;
    }
    ctx.ancestors.delete(obj);
    ctx.depth -= 2;
    ctx.height = height + 2;
    const list = this.leave(items, undefined, false, ctx);
    return this.leave({ [TAG]: 'Set', v: list }, undefined, false, ctx);
  }

  private leave(json: JsonObject | JsonValue[], source: object | undefined, immutable: boolean, ctx: EncodeContext): JsonValue {
    return ctx.hooks?.leave ? ctx.hooks.leave(json, source, immutable) : json;
  }

  // ---- decoding -----------------------------------------------------------------------------

  private bad(ctx: DecodeContext, what: string): never {
    throw new CorruptCheckpointError(`Malformed encoded value at ${formatPath(ctx.root, ctx.segs)}: ${what}.`);
  }

  /** Checks that children `levels` below a container at `depth` stay within the limit; returns their depth. */
  private below(ctx: DecodeContext, depth: number, levels: number): number {
    if (depth + levels > ctx.maxDepth) throw tooDeep(ctx.maxDepth, formatPath(ctx.root, ctx.segs), true);
    return depth + levels;
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

  /** Decodes a value sitting inside `depth` JSON containers. */
  private dec(input: JsonValue, ctx: DecodeContext, depth: number): unknown {
    const json = this.expand(input, ctx.options);
    if (json === null || typeof json !== 'object') return json;
    if (Array.isArray(json)) return this.decArray(json, ctx, this.below(ctx, depth, 1));
    if (!Object.hasOwn(json, TAG)) return this.decFields(json, {}, ctx, this.below(ctx, depth, 1));
    return this.decTag(json, ctx, depth);
  }

  private decArray(json: JsonValue[], ctx: DecodeContext, depth: number): unknown[] {
    const segs = ctx.segs;
    const out: unknown[] = [];
    for (let i = 0; i < json.length; i += 1) {
      const item = json[i]!;
      if (isHole(item)) {
        const run = item.n;
        if (!Number.isSafeInteger(run) || (run as number) < 1 || out.length + (run as number) > MAX_ARRAY_LENGTH) {
          segs.push(out.length);
          this.bad(ctx, `hole run ${JSON.stringify(run)}`);
        }
        // Growing the length leaves holes, and the next push lands after them.
        out.length += run as number;
        continue;
      }
      segs.push(out.length);
      out.push(this.dec(item, ctx, depth));
      segs.pop();
    }
    return out;
  }

  private decFields(json: JsonObject, target: Record<string, unknown>, ctx: DecodeContext, depth: number): Record<string, unknown> {
    for (const key of Object.keys(json)) {
      const original = isEscapable(key) ? key.slice(0, -1) : key;
      ctx.segs.push(original);
      setKey(target, original, this.dec(json[key]!, ctx, depth));
      ctx.segs.pop();
    }
    return target;
  }

  private decTag(json: JsonObject, ctx: DecodeContext, depth: number): unknown {
    const tag = json[TAG];
    const segs = ctx.segs;
    const v = json.v === undefined ? undefined : this.expand(json.v, ctx.options);
    try {
      switch (tag) {
        case 'undefined':
          return undefined;
        case 'num':
          if (v === 'NaN') return Number.NaN;
          if (v === 'Infinity') return Number.POSITIVE_INFINITY;
          if (v === '-Infinity') return Number.NEGATIVE_INFINITY;
          if (v === '-0') return -0;
          return this.bad(ctx, `unknown number ${JSON.stringify(v)}`);
        case 'BigInt':
          if (typeof v !== 'string') return this.bad(ctx, 'BigInt without digits');
          return BigInt(v);
        case 'Date':
          if (v !== null && typeof v !== 'string') return this.bad(ctx, 'Date without a time');
          return new Date(v === null ? Number.NaN : v);
        case 'Buffer':
          return Buffer.from(fromBase64(v));
        case 'Uint8Array':
          return new Uint8Array(fromBase64(v));
        case 'ArrayBuffer':
          return fromBase64(v);
        case 'TypedArray': {
          const ctor = TYPED_ARRAYS[String(json.t)];
          if (!ctor) return this.bad(ctx, `unknown typed array ${JSON.stringify(json.t)}`);
          return new ctor(fromBase64(v));
        }
        case 'null': {
          if (v === null || typeof v !== 'object' || Array.isArray(v) || Object.hasOwn(v, TAG)) {
            return this.bad(ctx, 'null-prototype object without fields');
          }
          return this.decFields(v, Object.create(null) as Record<string, unknown>, ctx, this.below(ctx, depth, 2));
        }
        case 'Map': {
          if (!Array.isArray(v)) return this.bad(ctx, 'Map without entries');
          const inner = this.below(ctx, depth, 3);
          const map = new Map();
          for (let i = 0; i < v.length; i += 1) {
            const pair = this.expand(v[i]!, ctx.options);
            if (!Array.isArray(pair) || pair.length !== 2) return this.bad(ctx, `Map entry ${i} is not a pair`);
            segs.push({ text: `.keys()[${i}]` });
            const key = this.dec(pair[0]!, ctx, inner);
            segs.pop();
            segs.push({ text: `.get(${describeKey(key)})` });
            map.set(key, this.dec(pair[1]!, ctx, inner));
            segs.pop();
          }
          return map;
        }
        case 'Set': {
          if (!Array.isArray(v)) return this.bad(ctx, 'Set without values');
          const inner = this.below(ctx, depth, 2);
          const set = new Set();
          for (let i = 0; i < v.length; i += 1) {
            segs.push({ text: `.values()[${i}]` });
            set.add(this.dec(v[i]!, ctx, inner));
            segs.pop();
          }
          return set;
        }
        case 'custom': {
          const type = this.types.get(String(json.t));
          if (!type) {
            const path = formatPath(ctx.root, segs);
            throw unserializable(
              `No codec is registered for the custom type ${JSON.stringify(json.t)} found at ${path}: register it (codec.register) before decoding.`,
              path,
            );
          }
          return type.decode(this.dec(json.v ?? null, ctx, this.below(ctx, depth, 1)));
        }
        case 'hole':
          return this.bad(ctx, 'an array hole outside an array');
        default:
          return this.bad(ctx, `unknown tag ${JSON.stringify(tag)}`);
      }
    } catch (error) {
      if (CorruptCheckpointError.isInstance(error) || UnserializableStateError.isInstance(error)) throw error;
      return this.bad(ctx, `${String(tag)}: ${(error as Error)?.message ?? error}`);
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
