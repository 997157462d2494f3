import * as crypto from 'node:crypto';
import { TAG, type Codec, type EncodeHooks, type JsonObject, type JsonValue, type RedactRules } from '../codec/codec.js';
import { CorruptCheckpointError } from '../errors.js';
import { openStored, type BlobCipher } from './encryption.js';

/**
 * State as a tree of content-addressed blobs.
 *
 * Values are encoded with the codec; on the way up (codec `leave` hook) every container is shaped:
 * - a string child longer than `blobThreshold` becomes its own blob;
 * - an array with at least `chunkThreshold` elements becomes `{ $sp: 'arr', n, l, s }`: the array is cut by the
 *   binary decomposition of its length into aligned power-of-two segments (n = 200 -> 128 + 64 + 8). A segment
 *   of up to `l` elements is one blob holding its element entries; a bigger one is a blob holding the hashes of
 *   its two halves. A trailing segment of size 1 is the entry itself. Segment identities depend only on
 *   content and position, so appending rewrites only the small trailing segments and the merges happen like
 *   carries: O(entry + log n) bytes per append, amortized.
 * - a container whose JSON is longer than `blobThreshold` becomes a blob, referenced as `{ $sp: 'ref', h }`.
 * The codec escapes user keys named `$sp`, so these tags can never collide with user data.
 */
export interface TreeTuning {
  /** JSON text longer than this becomes its own blob. Default 384. */
  blobThreshold: number;
  /** Arrays with at least this many elements are chunked. Default 16. */
  chunkThreshold: number;
  /** Largest segment that holds entries directly (power of two). Default 16. */
  leafSize: number;
}

export const DEFAULT_TUNING: TreeTuning = { blobThreshold: 384, chunkThreshold: 16, leafSize: 16 };

// One-shot `crypto.hash` (Node >= 20.12) skips the Hash object a small blob would otherwise pay for.
const oneShot = (crypto as { hash?: (algorithm: string, data: string, encoding: 'base64url') => string }).hash;

export function hashOf(stored: string): string {
  return oneShot ? oneShot('sha256', stored, 'base64url') : crypto.createHash('sha256').update(stored, 'utf8').digest('base64url');
}

/** Segment sizes of an array of length n, largest first (binary decomposition). */
export function segmentSizes(n: number): number[] {
  const sizes: number[] = [];
  for (let size = 2 ** Math.floor(Math.log2(Math.max(n, 1))); size >= 1; size /= 2) {
    if (n & size) sizes.push(size);
  }
  return sizes;
}

interface MemoEntry {
  json: JsonValue;
  /** Every blob hash the encoded subtree references. */
  hashes: string[];
}

/** Caches that live as long as the store (encoding is deterministic for a given store configuration). */
export class TreeCaches {
  /** Frozen source object -> its encoded entry. */
  readonly memo = new WeakMap<object, MemoEntry>();
  /** Inline JSON container -> its JSON text, computed once by `shape`, reused when a segment holding it is written. */
  readonly texts = new WeakMap<object, string>();
  /** Stable ids for entry objects, used to key the segment cache by identity. */
  private readonly ids = new WeakMap<object, number>();
  private nextId = 1;
  /** Segment key -> hash (bounded, oldest dropped first). */
  private readonly segments = new Map<string, string>();

  constructor(private readonly maxSegments = 50_000) {}

  idOf(entry: object): number {
    let id = this.ids.get(entry);
    if (id === undefined) {
      id = this.nextId++;
      this.ids.set(entry, id);
    }
    return id;
  }

  getSegment(key: string): string | undefined {
    return this.segments.get(key);
  }

  setSegment(key: string, hash: string): void {
    if (this.segments.size >= this.maxSegments) {
      const oldest = this.segments.keys().next().value;
      if (oldest !== undefined) this.segments.delete(oldest);
    }
    this.segments.set(key, hash);
  }
}

export interface TreeWriterEnv {
  codec: Codec;
  redact: RedactRules | undefined;
  cipher: BlobCipher | undefined;
  caches: TreeCaches;
  tuning: TreeTuning;
  /** Hashes the run is known to hold (reachable from the parent checkpoint); never rewritten. */
  known: ReadonlySet<string> | undefined;
}

/** Encodes the values of one checkpoint into blobs. One instance per save. */
export class TreeWriter {
  /** Every hash the checkpoint references. */
  readonly reach = new Set<string>();
  /** Blobs to write (hash -> stored data): those the run is not known to hold. */
  readonly out = new Map<string, string>();
  private readonly trail: string[] = [];
  private readonly starts: number[] = [];
  private readonly hooks: EncodeHooks;

  constructor(private readonly env: TreeWriterEnv) {
    this.hooks = {
      enter: (source) => this.enter(source),
      leave: (json, source, immutable) => this.leave(json, source, immutable),
    };
  }

  /** Encodes a value to an entry: inline JSON, or a reference when big. */
  entry(value: unknown, path: string, redact: boolean): JsonValue {
    const json = this.env.codec.encode(value, { path, redact: redact ? this.env.redact : undefined, hooks: this.hooks });
    return typeof json === 'string' && json.length > this.env.tuning.blobThreshold ? this.ref(this.emit(JSON.stringify(json))) : json;
  }

  /** Encodes a value into a blob of its own and returns its hash. */
  root(value: unknown, path: string, redact: boolean): string {
    return this.rootOf(this.entry(value, path, redact));
  }

  /** Stores an entry as a blob of its own (reusing it when it already is a reference). */
  rootOf(entry: JsonValue): string {
    if (isTagged(entry) && entry[TAG] === 'ref' && typeof entry.h === 'string') return entry.h;
    return this.emit(JSON.stringify(entry));
  }

  /** Plain JSON encoding without redaction or blob splitting (small structural values). */
  plain(value: unknown, path: string): JsonValue {
    return this.env.codec.encode(value, { path });
  }

  emit(data: string): string {
    const stored = this.env.cipher ? this.env.cipher.seal(data) : data;
    const hash = hashOf(stored);
    this.note(hash);
    if (!this.env.known?.has(hash) && !this.out.has(hash)) this.out.set(hash, stored);
    return hash;
  }

  private note(hash: string): void {
    this.trail.push(hash);
    this.reach.add(hash);
  }

  private available(hash: string): boolean {
    return this.reach.has(hash) || this.env.known?.has(hash) === true;
  }

  private ref(hash: string): JsonObject {
    return { [TAG]: 'ref', h: hash };
  }

  /**
   * Reuses an earlier encoding of an immutable value: true when every blob it references is still there (written
   * by this save or known to the run), which are then referenced again; false when the caller must encode anew.
   */
  reuse(hashes: readonly string[]): boolean {
    if (!hashes.every((h) => this.available(h))) return false;
    for (const h of hashes) this.note(h);
    return true;
  }

  /** Runs `encode`, returning its result and every blob hash it referenced (for `reuse` by a later save). */
  traced<T>(encode: () => T): { value: T; hashes: string[] } {
    const start = this.trail.length;
    const value = encode();
    return { value, hashes: this.trail.slice(start) };
  }

  private enter(source: object): JsonValue | undefined {
    if (Object.isFrozen(source)) {
      const hit = this.env.caches.memo.get(source);
      if (hit && this.reuse(hit.hashes)) return hit.json;
    }
    this.starts.push(this.trail.length);
    return undefined;
  }

  private leave(json: JsonObject | JsonValue[], source: object | undefined, immutable: boolean): JsonValue {
    const shaped = this.shape(json);
    if (source) {
      const start = this.starts.pop()!;
      if (immutable) this.env.caches.memo.set(source, { json: shaped, hashes: this.trail.slice(start) });
    }
    return shaped;
  }

  private shape(json: JsonObject | JsonValue[]): JsonValue {
    const { blobThreshold, chunkThreshold } = this.env.tuning;
    if (Array.isArray(json)) {
      for (let i = 0; i < json.length; i += 1) {
        const item = json[i];
        if (typeof item === 'string' && item.length > blobThreshold) json[i] = this.ref(this.emit(JSON.stringify(item)));
      }
      if (json.length >= chunkThreshold && this.worthChunking(json)) return this.chunk(json);
    } else if (!Object.hasOwn(json, TAG)) {
      for (const key of Object.keys(json)) {
        const item = json[key];
        if (typeof item === 'string' && item.length > blobThreshold) json[key] = this.ref(this.emit(JSON.stringify(item)));
      }
    }
    const text = JSON.stringify(json);
    if (text.length > blobThreshold) return this.ref(this.emit(text));
    this.env.caches.texts.set(json, text);
    return json;
  }

  /** `JSON.stringify(entry)`, reusing the text `shape` made of an inline container. */
  private textOf(entry: JsonValue): string {
    return (entry !== null && typeof entry === 'object' && this.env.caches.texts.get(entry)) || JSON.stringify(entry);
  }

  /** Arrays of containers are always chunked; arrays of primitives only once their JSON is big. */
  private worthChunking(entries: JsonValue[]): boolean {
    let size = 0;
    for (const entry of entries) {
      if (entry !== null && typeof entry === 'object') return true;
      size += typeof entry === 'string' ? entry.length + 3 : 8;
      if (size > this.env.tuning.blobThreshold) return true;
    }
    return false;
  }

  private chunk(entries: JsonValue[]): JsonValue {
    const s: JsonValue[] = [];
    let offset = 0;
    for (const size of segmentSizes(entries.length)) {
      s.push(size === 1 ? entries[offset]! : this.segment(entries, offset, size));
      offset += size;
    }
    return { [TAG]: 'arr', n: entries.length, l: this.env.tuning.leafSize, s };
  }

  private segment(entries: JsonValue[], offset: number, size: number): string {
    const caches = this.env.caches;
    let key: string;
    let data: (() => string) | undefined;
    if (size <= this.env.tuning.leafSize) {
      const parts: string[] = [];
      for (let i = offset; i < offset + size; i += 1) {
        const e = entries[i]!;
        parts.push(e !== null && typeof e === 'object' ? `#${caches.idOf(e)}` : JSON.stringify(e));
      }
      key = `L${parts.join(',')}`;
      // the same text as JSON.stringify of the slice, from the entries' texts (each message is stringified once)
      data = () => {
        const texts: string[] = [];
        for (let i = offset; i < offset + size; i += 1) texts.push(this.textOf(entries[i]!));
        return `[${texts.join(',')}]`;
      };
    } else {
      const half = size / 2;
      const left = this.segment(entries, offset, half);
      const right = this.segment(entries, offset + half, half);
      key = `I${left}${right}`;
      data = () => JSON.stringify([left, right]);
    }
    const cached = caches.getSegment(key);
    if (cached !== undefined && this.available(cached)) {
      this.note(cached);
      return cached;
    }
    const hash = this.emit(data());
    caches.setSegment(key, hash);
    return hash;
  }
}

function isTagged(json: JsonValue): json is JsonObject {
  return json !== null && typeof json === 'object' && !Array.isArray(json) && Object.hasOwn(json, TAG);
}

/**
 * What a queued blob is: a value (size 0) or an array segment of `size` entries with leaf size `leaf`, and the root
 * it was reached from (set by `loadAll` once the blob that named it was scanned).
 */
type Item = [hash: string, size: number, leaf: number, root?: string];

/**
 * Fetches and verifies every blob reachable from some roots (breadth first, one `getBlobs` call per level),
 * then resolves references while the codec decodes.
 */
export class TreeReader {
  /** Hash -> parsed plaintext JSON. */
  readonly parsed = new Map<string, JsonValue>();
  private readonly visited = new Set<string>();
  /** Root hash -> every blob hash reached from it (itself included). */
  private readonly below = new Map<string, string[]>();

  constructor(
    private readonly fetch: (hashes: string[]) => Promise<Map<string, string>>,
    private readonly cipher: BlobCipher | undefined,
    /** Names the checkpoint in error messages, e.g. `Checkpoint 0190...`. */
    private readonly what: string,
  ) {}

  /** All hashes read so far. */
  get hashes(): ReadonlySet<string> {
    return new Set(this.parsed.keys());
  }

  corrupt(detail: string): CorruptCheckpointError {
    return new CorruptCheckpointError(`${this.what} is corrupt: ${detail}.`);
  }

  async loadAll(roots: readonly string[]): Promise<void> {
    let level: Item[] = roots.map((h) => [h, 0, 0, h]);
    while (level.length > 0) {
      const wanted = new Set<string>();
      for (const [hash] of level) if (!this.parsed.has(hash)) wanted.add(hash);
      if (wanted.size > 0) {
        const need = [...wanted];
        const got = await this.fetch(need);
        for (const hash of need) {
          const stored = got.get(hash);
          if (stored === undefined) throw this.corrupt(`blob ${hash} is missing`);
          if (hashOf(stored) !== hash) throw this.corrupt(`blob ${hash} does not match its hash (tampered or truncated)`);
          const plain = openStored(stored, this.cipher, `${this.what}: blob ${hash}`);
          try {
            this.parsed.set(hash, JSON.parse(plain) as JsonValue);
          } catch {
            throw this.corrupt(`blob ${hash} is not valid JSON`);
          }
        }
      }
      const next: Item[] = [];
      for (const [hash, size, leaf, root] of level) {
        // per root, so each root's list is whole even where roots share blobs
        const key = `${root!}|${size}/${leaf}:${hash}`;
        if (this.visited.has(key)) continue;
        this.visited.add(key);
        let below = this.below.get(root!);
        if (below === undefined) this.below.set(root!, (below = []));
        below.push(hash);
        const first = next.length;
        this.scanBlob(this.parsed.get(hash)!, hash, size, leaf, next);
        for (let i = first; i < next.length; i += 1) next[i]![3] = root;
      }
      level = next;
    }
  }

  /** Every blob hash below `root` (a root `loadAll` was given), itself included. */
  reachableFrom(root: string): readonly string[] {
    const below = this.below.get(root);
    if (below === undefined) throw new Error(`reachableFrom(${root}): not a root this reader loaded`);
    return below;
  }

  private scanBlob(json: JsonValue, hash: string, size: number, leaf: number, next: Item[]): void {
    if (size === 0) return this.scanValue(json, next);
    if (size <= leaf) {
      if (!Array.isArray(json) || json.length !== size) throw this.corrupt(`segment ${hash} should hold ${size} entries`);
      for (const entry of json) this.scanValue(entry, next);
      return;
    }
    if (!Array.isArray(json) || json.length !== 2 || typeof json[0] !== 'string' || typeof json[1] !== 'string') {
      throw this.corrupt(`segment ${hash} should hold two hashes`);
    }
    next.push([json[0], size / 2, leaf], [json[1], size / 2, leaf]);
  }

  private scanValue(json: JsonValue, next: Item[]): void {
    if (json === null || typeof json !== 'object') return;
    if (Array.isArray(json)) {
      for (const item of json) this.scanValue(item, next);
      return;
    }
    if (Object.hasOwn(json, TAG)) {
      const tag = json[TAG];
      if (tag === 'ref') {
        if (typeof json.h !== 'string') throw this.corrupt('a reference has no hash');
        next.push([json.h, 0, 0]);
        return;
      }
      if (tag === 'arr') {
        const { sizes, leaf, s } = this.arrShape(json);
        sizes.forEach((size, i) => {
          if (size === 1) this.scanValue(s[i]!, next);
          else {
            if (typeof s[i] !== 'string') throw this.corrupt('a chunked array names a segment without a hash');
            next.push([s[i] as string, size, leaf]);
          }
        });
        return;
      }
    }
    for (const key of Object.keys(json)) this.scanValue(json[key]!, next);
  }

  private arrShape(json: JsonObject): { sizes: number[]; leaf: number; s: JsonValue[] } {
    const n = json.n;
    const leaf = json.l;
    const s = json.s;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || typeof leaf !== 'number' || leaf < 1 || !Array.isArray(s)) {
      throw this.corrupt('a chunked array is malformed');
    }
    const sizes = segmentSizes(n);
    if (sizes.length !== s.length) throw this.corrupt(`a chunked array of ${n} elements lists ${s.length} segments`);
    return { sizes, leaf, s };
  }

  /** `expand` hook for `codec.decode`: resolves `ref` and `arr` tags from the blobs read. */
  readonly expand = (tagged: JsonObject): JsonValue | undefined => {
    const tag = tagged[TAG];
    if (tag === 'ref') return this.blob(tagged.h as string);
    if (tag === 'arr') {
      const { sizes, leaf, s } = this.arrShape(tagged);
      const out: JsonValue[] = [];
      sizes.forEach((size, i) => {
        if (size === 1) out.push(s[i]!);
        else this.collect(s[i] as string, size, leaf, out);
      });
      return out;
    }
    return undefined;
  };

  blob(hash: string): JsonValue {
    const json = this.parsed.get(hash);
    if (json === undefined) throw this.corrupt(`blob ${hash} was not loaded`);
    return json;
  }

  private collect(hash: string, size: number, leaf: number, out: JsonValue[]): void {
    const json = this.blob(hash) as JsonValue[];
    if (size <= leaf) {
      for (const entry of json) out.push(entry);
    } else {
      this.collect(json[0] as string, size / 2, leaf, out);
      this.collect(json[1] as string, size / 2, leaf, out);
    }
  }
}
