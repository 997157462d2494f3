import type { Codec, DecodeOptions, JsonObject, JsonValue, RedactRules } from '../codec/codec.js';
import { CorruptCheckpointError } from '../errors.js';
import {
  type CheckpointStatus,
  type FlowCheckpoint,
  type NodeCheckpointState,
  type PendingInputContext,
  type TraceContext,
} from '../models/checkpoint.js';
import { TreeCaches, TreeReader, TreeWriter, type TreeTuning } from './blob-tree.js';
import { assertStoredCheckpoint, assertStoredSummary } from './checkpoint-validation.js';
import { BlobCipher, isSealed, openStored } from './encryption.js';
import { openHeaderBody, sealHeaderBody } from './header-seal.js';
import type { BlobRecord, HeaderRecord, StorageAdapter } from './storage-adapter.js';

/** A checkpoint without its state (what listings return). */
export type CheckpointSummary = Omit<FlowCheckpoint, 'nodeStates' | 'originalInput' | 'originalConfig'>;

// 2: the body ends with an integrity digest of the whole record (`header-seal.ts`).
const BODY_FORMAT = 2;

/** The JSON stored in `HeaderRecord.body` (followed by its digest, see `header-seal.ts`). */
export interface HeaderBody {
  f: number;
  /** Id of the encryption key whose MAC key authenticates the header (encrypted stores only). */
  k?: string;
  id: string;
  flowId: string;
  workflowId?: string;
  runId: string;
  seq: number;
  parent: string | null;
  status: CheckpointStatus;
  tenantId?: string;
  createdAt: number;
  updatedAt: number;
  schemaVersion: number;
  libraryVersion: string;
  completed: string[];
  pending: string[];
  trace?: TraceContext;
  /** nodeId -> hash of the node state blob. */
  nodes: Record<string, string>;
  input: string;
  config: string;
  /** `{ p: pendingInputs, m: metadata }` as codec JSON, or that JSON encrypted. */
  user: JsonValue;
}

/** Fields of a node state stored as separately encoded (and redacted) user data. */
const NODE_USER_FIELDS = [
  ['input', 'i'],
  ['output', 'o'],
  ['internalState', 's'],
  ['error', 'e'],
  ['lastError', 'l'],
] as const;

export interface CheckpointCodecEnv {
  codec: Codec;
  redact: RedactRules | undefined;
  cipher: BlobCipher | undefined;
  tuning: TreeTuning;
}

/** What a save hands to the adapter. */
export interface EncodedCheckpoint {
  header: HeaderRecord;
  /** New content only: the blobs the run is not known to hold. */
  blobs: BlobRecord[];
  /** Every hash the checkpoint references. */
  reach: ReadonlySet<string>;
}

/**
 * Turns a checkpoint into a header record plus blob trees (see `blob-tree.ts`) and back, and headers into
 * summaries. Redaction and encryption happen here, so nothing above this class sees stored bytes.
 */
export class CheckpointCodec {
  private readonly caches = new TreeCaches();
  /** Node state objects saved with `immutable`, or loaded -> their node blob hash and every hash below it. */
  private readonly nodeMemo = new WeakMap<object, { hash: string; hashes: readonly string[] }>();

  constructor(private readonly env: CheckpointCodecEnv) {}

  /**
   * Synchronous, so a caller that encodes before its first await stores the state as it was at call time.
   * `immutable`: the caller's own node state objects, which it never mutates once saved: one this codec encoded
   * before is not encoded again (its blobs are reused while the run still holds them).
   */
  encode(cp: FlowCheckpoint, known: ReadonlySet<string> | undefined, immutable?: Readonly<Record<string, object>>): EncodedCheckpoint {
    const { codec, redact, cipher, tuning } = this.env;
    const writer = new TreeWriter({ codec, redact, cipher, caches: this.caches, tuning, known });
    const body = this.encodeBody(cp, writer, immutable);
    const fields: Omit<HeaderRecord, 'body'> = {
      id: cp.id,
      flowId: cp.flowId,
      workflowId: cp.workflowId ?? null,
      runId: cp.runId,
      seq: cp.seq,
      parentCheckpointId: cp.parentCheckpointId,
      status: cp.status,
      tenantId: cp.tenantId ?? null,
      pendingInput: cp.status === 'pending_input',
      createdAt: cp.createdAt.getTime(),
      updatedAt: cp.updatedAt.getTime(),
    };
    const header: HeaderRecord = { ...fields, body: sealHeaderBody(fields, body as unknown as Record<string, unknown>, this.env.cipher) };
    const blobs = [...writer.out].map(([hash, data]) => ({ hash, data }));
    return { header, blobs, reach: writer.reach };
  }

  /** The verified body of a header (see `header-seal.ts`), consistent with the record's indexed fields. */
  verify(record: HeaderRecord): HeaderBody {
    const body = openHeaderBody(record, this.env.cipher) as unknown as HeaderBody;
    if (body.f !== BODY_FORMAT) {
      throw new CorruptCheckpointError(`Checkpoint ${record.id} was written in header format ${String(body.f)}, which this version does not read.`);
    }
    const ok =
      body.id === record.id &&
      body.runId === record.runId &&
      body.flowId === record.flowId &&
      (body.workflowId ?? null) === record.workflowId &&
      (body.tenantId ?? null) === record.tenantId &&
      body.seq === record.seq &&
      body.parent === record.parentCheckpointId &&
      body.status === record.status &&
      (body.status === 'pending_input') === record.pendingInput &&
      body.createdAt === record.createdAt &&
      body.updatedAt === record.updatedAt &&
      body.nodes !== null &&
      typeof body.nodes === 'object' &&
      Object.values(body.nodes).every((h) => typeof h === 'string') &&
      typeof body.input === 'string' &&
      typeof body.config === 'string' &&
      Array.isArray(body.completed) &&
      Array.isArray(body.pending);
    if (!ok) throw new CorruptCheckpointError(`Checkpoint ${record.id} is corrupt: its header is malformed.`);
    return body;
  }

  /** Verifies the header, then fetches (and verifies) every blob its trees reach. */
  async open(record: HeaderRecord, adapter: StorageAdapter): Promise<{ body: HeaderBody; reader: TreeReader }> {
    return this.read(record, this.verify(record), adapter);
  }

  /** Fetches (and verifies) every blob reached by a header `verify` accepted. */
  async read(record: HeaderRecord, body: HeaderBody, adapter: StorageAdapter): Promise<{ body: HeaderBody; reader: TreeReader }> {
    const reader = new TreeReader((hashes) => adapter.getBlobs(record.runId, hashes), this.env.cipher, `Checkpoint ${record.id}`);
    await reader.loadAll([...Object.values(body.nodes), body.input, body.config]);
    return { body, reader };
  }

  /** The checkpoint of a header opened with `open`. */
  decode(body: HeaderBody, reader: TreeReader): FlowCheckpoint {
    const what = `Checkpoint ${body.id}`;
    const nodeStates: Record<string, NodeCheckpointState> = {};
    for (const [nodeId, hash] of Object.entries(body.nodes)) {
      const blob = reader.blob(hash);
      if (blob === null || typeof blob !== 'object' || Array.isArray(blob) || !Object.hasOwn(blob, 'n')) {
        throw new CorruptCheckpointError(`${what} is corrupt: the state of node ${JSON.stringify(nodeId)} is malformed.`);
      }
      const base = pathKey('nodeStates', nodeId);
      const state = this.decodeJson(blob.n!, what, reader, base) as Record<string, unknown>;
      for (const [field, short] of NODE_USER_FIELDS) {
        if (Object.hasOwn(blob, short)) state[field] = this.decodeJson(blob[short]!, what, reader, `${base}.${field}`);
      }
      // A caller saving this very object again with `immutable` (the engine resuming the run) reuses its blobs.
      this.nodeMemo.set(state, { hash, hashes: reader.reachableFrom(hash) });
      defineKey(nodeStates, nodeId, state);
    }
    const user = this.decodeUser(body);
    const originalInput = this.decodeJson(reader.blob(body.input), what, reader, 'originalInput');
    const originalConfig = this.decodeJson(reader.blob(body.config), what, reader, 'originalConfig') as Record<string, unknown>;
    return assertStoredCheckpoint(assemble(body, user, { nodeStates, originalInput, originalConfig }));
  }

  /** A header as a listing shows it, verified like a load; reads no blob. */
  summarize(record: HeaderRecord): CheckpointSummary {
    const body = this.verify(record);
    return assertStoredSummary(assemble(body, this.decodeUser(body)));
  }

  // ---- encoding -----------------------------------------------------------------------------

  private encodeBody(cp: FlowCheckpoint, writer: TreeWriter, immutable: Readonly<Record<string, object>> | undefined): HeaderBody {
    const { codec, redact: rules, cipher } = this.env;
    const nodes: Record<string, string> = Object.create(null);
    for (const [nodeId, state] of Object.entries(cp.nodeStates)) {
      const source = immutable?.[nodeId];
      const memo = source && this.nodeMemo.get(source);
      if (memo && writer.reuse(memo.hashes)) {
        nodes[nodeId] = memo.hash;
        continue;
      }
      const { value: hash, hashes } = writer.traced(() => this.encodeNode(nodeId, state, writer));
      if (source) this.nodeMemo.set(source, { hash, hashes });
      nodes[nodeId] = hash;
    }
    const redact = rules !== undefined;
    const input = writer.root(cp.originalInput, 'originalInput', redact);
    const config = writer.root(cp.originalConfig, 'originalConfig', redact);
    const pending = cp.pendingInputs.map((p, i) => {
      const { prompt, metadata, ...rest } = p;
      const json = codec.encode(rest, { path: `pendingInputs[${i}]` }) as JsonObject;
      json.prompt = codec.encode(prompt, { path: `pendingInputs[${i}].prompt`, redact: rules });
      json.metadata = codec.encode(metadata, { path: `pendingInputs[${i}].metadata`, redact: rules });
      return json;
    });
    const userJson: JsonObject = { p: pending, m: codec.encode(cp.metadata, { path: 'metadata', redact: rules }) };
    const body: HeaderBody = {
      f: BODY_FORMAT,
      id: cp.id,
      flowId: cp.flowId,
      runId: cp.runId,
      seq: cp.seq,
      parent: cp.parentCheckpointId,
      status: cp.status,
      createdAt: cp.createdAt.getTime(),
      updatedAt: cp.updatedAt.getTime(),
      schemaVersion: cp.schemaVersion,
      libraryVersion: cp.libraryVersion,
      completed: cp.completedNodeIds,
      pending: cp.pendingNodeIds,
      nodes,
      input,
      config,
      user: cipher ? cipher.seal(JSON.stringify(userJson)) : userJson,
    };
    if (cp.workflowId !== undefined) body.workflowId = cp.workflowId;
    if (cp.tenantId !== undefined) body.tenantId = cp.tenantId;
    if (cp.traceContext !== undefined) body.trace = cp.traceContext;
    return body;
  }

  /** A node state is one blob: `{ n: structural fields, i/o/s/e: input/output/internalState/error entries }`. */
  private encodeNode(nodeId: string, state: NodeCheckpointState, writer: TreeWriter): string {
    const base = pathKey('nodeStates', nodeId);
    const structural: Record<string, unknown> = { ...state };
    const json: JsonObject = {};
    for (const [field, short] of NODE_USER_FIELDS) {
      delete structural[field];
      if (Object.hasOwn(state, field)) {
        json[short] = writer.entry(state[field], `${base}.${field}`, this.env.redact !== undefined);
      }
    }
    json.n = writer.plain(structural, base);
    return writer.rootOf(json);
  }

  // ---- decoding -----------------------------------------------------------------------------

  private decodeUser(body: HeaderBody): UserData {
    const what = `Checkpoint ${body.id}`;
    let json = body.user;
    if (typeof json === 'string' && isSealed(json)) {
      try {
        json = JSON.parse(openStored(json, this.env.cipher, `${what} (header data)`)) as JsonValue;
      } catch (error) {
        if (CorruptCheckpointError.isInstance(error)) throw error;
        throw new CorruptCheckpointError(`${what} is corrupt: its header data does not parse.`);
      }
    }
    if (json === null || typeof json !== 'object' || Array.isArray(json) || !Array.isArray(json.p)) {
      throw new CorruptCheckpointError(`${what} is corrupt: its header data is malformed.`);
    }
    const decoded = this.decodeJson({ p: json.p, m: json.m ?? {} }, what) as { p: PendingInputContext[]; m: Record<string, unknown> };
    return { pendingInputs: decoded.p, metadata: decoded.m };
  }

  private decodeJson(json: JsonValue, what: string, reader?: TreeReader, path?: string): unknown {
    try {
      const options: DecodeOptions = {};
      if (reader) options.expand = reader.expand;
      if (path) options.path = path;
      return this.env.codec.decode(json, options);
    } catch (error) {
      if (CorruptCheckpointError.isInstance(error)) {
        throw new CorruptCheckpointError(`${what} is corrupt: ${error.message}`, { cause: error });
      }
      throw error;
    }
  }
}

type UserData = Pick<FlowCheckpoint, 'pendingInputs' | 'metadata'>;
type StateData = Pick<FlowCheckpoint, 'nodeStates' | 'originalInput' | 'originalConfig'>;

/** Checkpoints and summaries share one builder, so both keep the same key order as before the split. */
function assemble(body: HeaderBody, user: UserData): CheckpointSummary;
function assemble(body: HeaderBody, user: UserData, state: StateData): FlowCheckpoint;
function assemble(body: HeaderBody, user: UserData, state?: StateData): CheckpointSummary {
  const out: CheckpointSummary & Partial<StateData> = {
    id: body.id,
    flowId: body.flowId,
    runId: body.runId,
    seq: body.seq,
    parentCheckpointId: body.parent,
    status: body.status,
    ...(state && { nodeStates: state.nodeStates }),
    completedNodeIds: [...body.completed],
    pendingNodeIds: [...body.pending],
    ...(state && { originalInput: state.originalInput, originalConfig: state.originalConfig }),
    pendingInputs: user.pendingInputs,
    createdAt: new Date(body.createdAt),
    updatedAt: new Date(body.updatedAt),
    schemaVersion: body.schemaVersion,
    libraryVersion: body.libraryVersion,
    metadata: user.metadata,
  };
  if (body.workflowId !== undefined) out.workflowId = body.workflowId;
  if (body.tenantId !== undefined) out.tenantId = body.tenantId;
  if (body.trace !== undefined) out.traceContext = body.trace;
  return out;
}

function pathKey(base: string, key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `${base}.${key}` : `${base}[${JSON.stringify(key)}]`;
}

function defineKey(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}
