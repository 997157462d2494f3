import { Codec, defaultCodec, type JsonObject, type JsonValue } from '../codec/codec.js';
import { compileRedaction } from '../codec/redaction.js';
import {
  BackendUnavailableError,
  CheckpointConflictError,
  CorruptCheckpointError,
  InvalidArgumentError,
  LeaseLostError,
  NotFoundError,
  RunLockedError,
} from '../errors.js';
import type { EncryptionConfig, RedactConfig } from '../models/checkpoint-config.js';
import {
  type CheckpointStatus,
  type FlowCheckpoint,
  type NodeCheckpointState,
  type PendingInputContext,
  type TraceContext,
} from '../models/checkpoint.js';
import { uuidv7 } from '../util/uuidv7.js';
import { DEFAULT_TUNING, TreeCaches, TreeReader, TreeWriter, type TreeTuning } from './blob-tree.js';
import { BlobCipher, isSealed, openStored } from './encryption.js';
import { validateCheckpoint } from './checkpoint-validation.js';
import { assertSafeId } from './safe-id.js';
import type { BlobRecord, HeaderQuery, HeaderRecord, Lease, PutHeaderOptions, StorageAdapter } from './storage-adapter.js';

export interface CheckpointStoreOptions {
  /** Keys (case-insensitive) and string patterns replaced by `[REDACTED]` before anything is encoded. */
  redact?: RedactConfig;
  /** AES-256-GCM encryption of every blob and of the header's user data. */
  encryption?: EncryptionConfig;
  /** Codec with the custom types the state uses. Default: the shared `defaultCodec`. */
  codec?: Codec;
  /** Advanced: blob/chunk sizes. Changing them never breaks reading older checkpoints. */
  tuning?: Partial<TreeTuning>;
  /** Runs whose written/loaded blob hashes are remembered for dedupe (least recently used dropped). Default 256. */
  dedupeRuns?: number;
}

export interface SaveOptions {
  /** Compare-and-set on the run head: the head must be this id (`null`: the run must be empty). */
  expectedHead?: string | null;
  /** Fencing: the write is refused with `LeaseLostError` unless this lease is still current. */
  lease?: Lease;
}

export interface SaveResult {
  id: string;
  /** Blobs handed to the adapter (new content only). */
  blobsWritten: number;
  /** UTF-8 bytes handed to the adapter: blob data plus the header body. */
  bytesWritten: number;
}

/** A checkpoint without its state (what listings return). */
export type CheckpointSummary = Omit<FlowCheckpoint, 'nodeStates' | 'originalInput' | 'originalConfig'>;

export interface TenantOption {
  tenantId?: string;
}

export interface CheckpointPatch {
  status?: CheckpointStatus;
  /** Shallow-merged into the current metadata. */
  metadata?: Record<string, unknown>;
  /** Replaces the pending inputs. */
  pendingInputs?: PendingInputContext[];
}

export interface CleanupOptions {
  /** Only this flow (default: every flow). */
  flowId?: string;
  /** Checkpoints kept per flow, newest first. Default 10. */
  maxCheckpoints?: number;
  /** Checkpoints created longer ago than this are dropped. */
  retentionDays?: number;
  /** Clock for retention (epoch ms or Date). Default now. */
  now?: number | Date;
}

export interface CleanupResult {
  deletedCheckpoints: number;
  deletedBlobs: number;
}

// Only a completed run is done with its head: a failed or canceled run can still be resumed from it.
const FINISHED: ReadonlySet<CheckpointStatus> = new Set(['completed']);
const BODY_FORMAT = 1;
const PAGE = 500;
const GC_LEASE_MS = 60_000;

/** The JSON stored in `HeaderRecord.body`. */
interface HeaderBody {
  f: number;
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
] as const;

/**
 * The public checkpoint API, built once over any `StorageAdapter`.
 *
 * A checkpoint is a small header (the commit point) plus content-addressed blobs scoped to the run: each node
 * state, the original input and the original config are blob trees (see `blob-tree.ts`). Saving writes only
 * the blobs the run does not already hold, then the header.
 */
export class CheckpointStore {
  readonly adapter: StorageAdapter;
  private readonly codec: Codec;
  private readonly redactRules;
  private readonly cipher: BlobCipher | undefined;
  private readonly tuning: TreeTuning;
  private readonly caches = new TreeCaches();
  private readonly dedupeRuns: number;
  /** runId -> (checkpoint id -> every hash that checkpoint references); LRU over runs. */
  private readonly known = new Map<string, Map<string, ReadonlySet<string>>>();
  private setupPromise: Promise<void> | undefined;

  constructor(adapter: StorageAdapter, options: CheckpointStoreOptions = {}) {
    if (!adapter || typeof adapter.putHeader !== 'function' || typeof adapter.putBlobs !== 'function') {
      throw new InvalidArgumentError('CheckpointStore needs a StorageAdapter (an object implementing putBlobs, putHeader, ...).');
    }
    this.adapter = adapter;
    this.codec = options.codec ?? defaultCodec;
    this.redactRules = compileRedaction(options.redact);
    this.cipher = options.encryption ? new BlobCipher(options.encryption) : undefined;
    this.tuning = { ...DEFAULT_TUNING, ...options.tuning };
    const { blobThreshold, chunkThreshold, leafSize } = this.tuning;
    if (!(blobThreshold >= 64) || !(chunkThreshold >= 2) || !(leafSize >= 2) || (leafSize & (leafSize - 1)) !== 0) {
      throw new InvalidArgumentError('tuning: blobThreshold >= 64, chunkThreshold >= 2 and leafSize a power of two >= 2.');
    }
    this.dedupeRuns = Math.max(1, options.dedupeRuns ?? 256);
  }

  /** Calls `adapter.setup()` once; every other method calls it lazily. A failed setup is retried next time. */
  setup(): Promise<void> {
    if (!this.setupPromise) {
      this.setupPromise = Promise.resolve(this.adapter.setup?.()).catch((error: unknown) => {
        this.setupPromise = undefined;
        throw error;
      });
    }
    return this.setupPromise;
  }

  // ---- save / load --------------------------------------------------------------------------

  async save(checkpoint: FlowCheckpoint, options: SaveOptions = {}): Promise<SaveResult> {
    const cp = validateCheckpoint(checkpoint);
    if (options.expectedHead !== undefined && options.expectedHead !== null) assertSafeId(options.expectedHead, 'expectedHead');
    if (options.lease) {
      if (options.lease.runId !== cp.runId) {
        throw new InvalidArgumentError(`The lease is for run ${options.lease.runId}, not ${cp.runId}.`);
      }
    }
    // Encoded before the first await, so what is stored is the state as it was when save() was called.
    const writer = new TreeWriter({
      codec: this.codec,
      redact: this.redactRules,
      cipher: this.cipher,
      caches: this.caches,
      tuning: this.tuning,
      known: cp.parentCheckpointId === null ? undefined : this.knownFor(cp.runId, cp.parentCheckpointId),
    });
    const body = this.encodeBody(cp, writer);
    const header: HeaderRecord = {
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
      body: JSON.stringify(body),
    };
    const blobs = [...writer.out].map(([hash, data]) => ({ hash, data }));
    let bytes = Buffer.byteLength(header.body, 'utf8');
    for (const blob of blobs) bytes += Buffer.byteLength(blob.data, 'utf8');
    await this.setup();
    const putOptions: PutHeaderOptions = {};
    if (options.expectedHead !== undefined) putOptions.expectedHead = options.expectedHead;
    if (options.lease) putOptions.lease = options.lease;
    await this.commitHeader(header, blobs, putOptions);
    this.remember(cp.runId, cp.id, writer.reach);
    return { id: cp.id, blobsWritten: blobs.length, bytesWritten: bytes };
  }

  /**
   * A header write whose answer was lost (a dropped connection after the commit, a client that resent
   * the command) is committed all the same: when the stored header is this very header, the save
   * succeeded, and reporting a conflict would stop a run that is fine.
   */
  private async commitHeader(header: HeaderRecord, blobs: readonly BlobRecord[], options: PutHeaderOptions): Promise<void> {
    try {
      await this.write(header, blobs, options);
    } catch (error) {
      if (!CheckpointConflictError.isInstance(error) && !BackendUnavailableError.isInstance(error)) throw error;
      const stored = await this.adapter.getHeader(header.id).catch(() => null);
      if (!stored || !sameHeader(stored, header)) throw error;
    }
  }

  /** Blobs and header in one commit when the adapter can, else blobs first: a header never points at missing blobs. */
  private async write(header: HeaderRecord, blobs: readonly BlobRecord[], options: PutHeaderOptions): Promise<void> {
    if (this.adapter.commitCheckpoint) return this.adapter.commitCheckpoint(header.runId, blobs, header, options);
    if (blobs.length > 0) await this.adapter.putBlobs(header.runId, blobs);
    await this.adapter.putHeader(header, options);
  }

  async load(id: string, options: TenantOption = {}): Promise<FlowCheckpoint> {
    assertSafeId(id, 'checkpoint id');
    if (options.tenantId !== undefined) assertSafeId(options.tenantId, 'tenantId');
    await this.setup();
    const record = await this.adapter.getHeader(id);
    if (!record || (options.tenantId !== undefined && record.tenantId !== options.tenantId)) {
      throw new NotFoundError(`Checkpoint ${id} not found.`);
    }
    const body = this.parseBody(record);
    const reader = this.reader(record);
    const roots = [...Object.values(body.nodes), body.input, body.config];
    await reader.loadAll(roots);
    const cp = this.decodeCheckpoint(body, reader);
    this.remember(record.runId, record.id, reader.hashes);
    return cp;
  }

  /**
   * Appends a successor of the run head `id` (seq + 1, parent = id) with the patch applied; the state is
   * shared with `id`, so only the header is written. Throws `CheckpointConflictError` when `id` is not the head.
   */
  async update(id: string, patch: CheckpointPatch, options: { lease?: Lease } = {}): Promise<FlowCheckpoint> {
    const current = await this.load(id);
    const head = await this.adapter.getHead(current.runId);
    if (head !== id) {
      throw new CheckpointConflictError(`Checkpoint ${id} is not the head of run ${current.runId} (the head is ${head}); update the head.`);
    }
    const now = new Date();
    const next: FlowCheckpoint = {
      ...current,
      id: uuidv7(),
      seq: current.seq + 1,
      parentCheckpointId: id,
      status: patch.status ?? current.status,
      metadata: patch.metadata ? { ...current.metadata, ...patch.metadata } : current.metadata,
      pendingInputs: patch.pendingInputs ?? current.pendingInputs,
      createdAt: now,
      updatedAt: now,
    };
    await this.save(next, { expectedHead: id, ...(options.lease ? { lease: options.lease } : {}) });
    return next;
  }

  /** Deletes one checkpoint, then the run's blobs no other checkpoint of the run references. */
  async delete(id: string): Promise<void> {
    assertSafeId(id, 'checkpoint id');
    await this.setup();
    const record = await this.adapter.getHeader(id);
    if (!record) throw new NotFoundError(`Checkpoint ${id} not found.`);
    await this.adapter.deleteHeaders([id]);
    this.forget(record.runId, [id]);
    await this.collectGarbage(record.runId);
  }

  /** Deletes every checkpoint and blob of a run. */
  async deleteRun(runId: string): Promise<void> {
    assertSafeId(runId, 'runId');
    await this.setup();
    for (;;) {
      const page = await this.adapter.queryHeaders({ runId, limit: PAGE });
      if (page.length === 0) break;
      if ((await this.adapter.deleteHeaders(page.map((h) => h.id))) === 0) break; // never spin on a broken adapter
    }
    this.known.delete(runId);
    await this.adapter.deleteBlobsExcept(runId, new Set());
  }

  // ---- queries ------------------------------------------------------------------------------

  /** A flow's checkpoints, newest first (by id). */
  async listByFlow(
    flowId: string,
    options: { limit?: number; beforeId?: string; statuses?: CheckpointStatus[]; tenantId?: string } = {},
  ): Promise<CheckpointSummary[]> {
    assertSafeId(flowId, 'flowId');
    const query: HeaderQuery = { flowId, order: 'desc', ...this.common(options) };
    if (options.beforeId !== undefined) {
      assertSafeId(options.beforeId, 'beforeId');
      query.beforeId = options.beforeId;
    }
    if (options.statuses !== undefined) query.statuses = [...options.statuses];
    await this.setup();
    return (await this.adapter.queryHeaders(query)).map((h) => this.summarize(h));
  }

  /** A run's checkpoints, newest first (by seq). */
  async listByRun(runId: string, options: { limit?: number; beforeSeq?: number; tenantId?: string } = {}): Promise<CheckpointSummary[]> {
    assertSafeId(runId, 'runId');
    const query: HeaderQuery = { runId, order: 'desc', ...this.common(options) };
    if (options.beforeSeq !== undefined) query.beforeSeq = options.beforeSeq;
    await this.setup();
    return (await this.adapter.queryHeaders(query)).map((h) => this.summarize(h));
  }

  async getHead(runId: string): Promise<string | null> {
    assertSafeId(runId, 'runId');
    await this.setup();
    return this.adapter.getHead(runId);
  }

  /** The head of a run, or the newest checkpoint of a flow (or of everything, tenant-scoped), or null. */
  async getLatest(query: { runId?: string; flowId?: string; tenantId?: string }): Promise<FlowCheckpoint | null> {
    if (query.runId !== undefined) assertSafeId(query.runId, 'runId');
    if (query.flowId !== undefined) assertSafeId(query.flowId, 'flowId');
    if (query.tenantId !== undefined) assertSafeId(query.tenantId, 'tenantId');
    await this.setup();
    let id: string | null;
    if (query.runId !== undefined) {
      id = await this.adapter.getHead(query.runId);
    } else {
      const q: HeaderQuery = { order: 'desc', limit: 1 };
      if (query.flowId !== undefined) q.flowId = query.flowId;
      if (query.tenantId !== undefined) q.tenantId = query.tenantId;
      id = (await this.adapter.queryHeaders(q))[0]?.id ?? null;
    }
    if (id === null) return null;
    try {
      const cp = await this.load(id, query.tenantId === undefined ? {} : { tenantId: query.tenantId });
      if (query.flowId !== undefined && cp.flowId !== query.flowId) return null;
      return cp;
    } catch (error) {
      if (NotFoundError.isInstance(error)) return null;
      throw error;
    }
  }

  /** `id`, its parent, its parent's parent... up to the root; follows forks into their source run. */
  async getChain(id: string, options: TenantOption = {}): Promise<CheckpointSummary[]> {
    assertSafeId(id, 'checkpoint id');
    if (options.tenantId !== undefined) assertSafeId(options.tenantId, 'tenantId');
    await this.setup();
    const chain: CheckpointSummary[] = [];
    const seen = new Set<string>();
    let next: string | null = id;
    while (next !== null && !seen.has(next)) {
      seen.add(next);
      const record = await this.adapter.getHeader(next);
      const wrongTenant = record && options.tenantId !== undefined && record.tenantId !== options.tenantId;
      if (!record || wrongTenant) {
        if (chain.length === 0) throw new NotFoundError(`Checkpoint ${id} not found.`);
        break; // an ancestor was deleted by retention (or is another tenant's): the chain ends here
      }
      chain.push(this.summarize(record));
      next = record.parentCheckpointId;
    }
    return chain;
  }

  /** Run heads waiting for human input, newest first. A run that moved on is not listed. */
  async listPendingInput(options: { flowId?: string; tenantId?: string; limit?: number } = {}): Promise<CheckpointSummary[]> {
    if (options.flowId !== undefined) assertSafeId(options.flowId, 'flowId');
    const limit = options.limit ?? Number.POSITIVE_INFINITY;
    const common = this.common({ tenantId: options.tenantId });
    await this.setup();
    const out: CheckpointSummary[] = [];
    let beforeId: string | undefined;
    while (out.length < limit) {
      const query: HeaderQuery = { pendingInput: true, order: 'desc', limit: PAGE, ...common };
      if (options.flowId !== undefined) query.flowId = options.flowId;
      if (beforeId !== undefined) query.beforeId = beforeId;
      const page = await this.adapter.queryHeaders(query);
      for (const record of page) {
        if (out.length >= limit) break;
        if ((await this.adapter.getHead(record.runId)) === record.id) out.push(this.summarize(record));
      }
      if (page.length < PAGE) break;
      beforeId = page[page.length - 1]!.id;
    }
    return out;
  }

  // ---- retention ----------------------------------------------------------------------------

  /**
   * Per flow, keeps the newest `maxCheckpoints` and drops those older than `retentionDays`, but never the head
   * of a run that may still be resumed (any status but completed: failed, canceled, paused, active and every
   * pending_input head). Then garbage-collects the blobs of each run it touched.
   */
  async cleanup(options: CleanupOptions = {}): Promise<CleanupResult> {
    const max = options.maxCheckpoints ?? 10;
    if (!Number.isInteger(max) || max < 0) throw new InvalidArgumentError('cleanup: maxCheckpoints must be a non-negative integer.');
    if (options.retentionDays !== undefined && !(options.retentionDays > 0)) {
      throw new InvalidArgumentError('cleanup: retentionDays must be a positive number.');
    }
    if (options.flowId !== undefined) assertSafeId(options.flowId, 'flowId');
    await this.setup();
    const now = options.now === undefined ? Date.now() : typeof options.now === 'number' ? options.now : options.now.getTime();
    const cutoff = options.retentionDays === undefined ? undefined : now - options.retentionDays * 86_400_000;

    const flows = options.flowId !== undefined ? [options.flowId] : await this.allFlowIds();
    let deletedCheckpoints = 0;
    const touched = new Set<string>();
    for (const flowId of flows) {
      const headers = await this.allHeaders({ flowId });
      const heads = new Map<string, string | null>();
      const doomed: HeaderRecord[] = [];
      for (let index = 0; index < headers.length; index += 1) {
        const h = headers[index]!;
        const expired = index >= max || (cutoff !== undefined && h.createdAt < cutoff);
        if (!expired) continue;
        if (!FINISHED.has(h.status)) {
          if (!heads.has(h.runId)) heads.set(h.runId, await this.adapter.getHead(h.runId));
          if (heads.get(h.runId) === h.id) continue; // the head of an unfinished run, or a pending_input head
        }
        doomed.push(h);
      }
      for (let i = 0; i < doomed.length; i += PAGE) {
        const slice = doomed.slice(i, i + PAGE);
        deletedCheckpoints += await this.adapter.deleteHeaders(slice.map((h) => h.id));
        for (const h of slice) {
          touched.add(h.runId);
          this.forget(h.runId, [h.id]);
        }
      }
    }
    let deletedBlobs = 0;
    for (const runId of touched) deletedBlobs += await this.collectGarbage(runId);
    return { deletedCheckpoints, deletedBlobs };
  }

  // ---- leases -------------------------------------------------------------------------------

  /** Claims a run; `RunLockedError` when another owner holds an unexpired lease. */
  async acquireLease(runId: string, owner: string, ttlMs: number): Promise<Lease> {
    assertSafeId(runId, 'runId');
    assertOwner(owner);
    assertTtl(ttlMs);
    await this.setup();
    const lease = await this.adapter.acquireLease(runId, owner, ttlMs);
    if (!lease) throw new RunLockedError(`Run ${runId} is being run by another worker (its lease has not expired).`);
    return lease;
  }

  /** Extends a lease; `LeaseLostError` when it expired and was taken over, or was released. */
  async renewLease(lease: Lease, ttlMs: number): Promise<Lease> {
    assertSafeId(lease?.runId, 'lease.runId');
    assertTtl(ttlMs);
    await this.setup();
    const renewed = await this.adapter.renewLease(lease, ttlMs);
    if (!renewed) throw new LeaseLostError(`The lease of ${lease.owner} on run ${lease.runId} was lost.`);
    return renewed;
  }

  async releaseLease(lease: Lease): Promise<void> {
    assertSafeId(lease?.runId, 'lease.runId');
    await this.setup();
    await this.adapter.releaseLease(lease);
  }

  // ---- encoding -----------------------------------------------------------------------------

  private encodeBody(cp: FlowCheckpoint, writer: TreeWriter): HeaderBody {
    const nodes: Record<string, string> = Object.create(null);
    for (const [nodeId, state] of Object.entries(cp.nodeStates)) {
      nodes[nodeId] = this.encodeNode(nodeId, state, writer);
    }
    const redact = this.redactRules !== undefined;
    const input = writer.root(cp.originalInput, 'originalInput', redact);
    const config = writer.root(cp.originalConfig, 'originalConfig', redact);
    const pending = cp.pendingInputs.map((p, i) => {
      const { prompt, metadata, ...rest } = p;
      const json = this.codec.encode(rest, { path: `pendingInputs[${i}]` }) as JsonObject;
      json.prompt = this.codec.encode(prompt, { path: `pendingInputs[${i}].prompt`, redact: this.redactRules });
      json.metadata = this.codec.encode(metadata, { path: `pendingInputs[${i}].metadata`, redact: this.redactRules });
      return json;
    });
    const userJson: JsonObject = { p: pending, m: this.codec.encode(cp.metadata, { path: 'metadata', redact: this.redactRules }) };
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
      user: this.cipher ? this.cipher.seal(JSON.stringify(userJson)) : userJson,
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
        json[short] = writer.entry(state[field], `${base}.${field}`, this.redactRules !== undefined);
      }
    }
    json.n = writer.plain(structural, base);
    return writer.rootOf(json);
  }

  // ---- decoding -----------------------------------------------------------------------------

  private reader(record: HeaderRecord): TreeReader {
    return new TreeReader((hashes) => this.adapter.getBlobs(record.runId, hashes), this.cipher, `Checkpoint ${record.id}`);
  }

  private parseBody(record: HeaderRecord): HeaderBody {
    const what = `Checkpoint ${record.id}`;
    let body: HeaderBody;
    try {
      body = JSON.parse(record.body) as HeaderBody;
    } catch {
      throw new CorruptCheckpointError(`${what} is corrupt: its header does not parse.`);
    }
    const ok =
      body !== null &&
      typeof body === 'object' &&
      body.f === BODY_FORMAT &&
      body.id === record.id &&
      body.runId === record.runId &&
      typeof body.seq === 'number' &&
      body.nodes !== null &&
      typeof body.nodes === 'object' &&
      Object.values(body.nodes).every((h) => typeof h === 'string') &&
      typeof body.input === 'string' &&
      typeof body.config === 'string' &&
      Array.isArray(body.completed) &&
      Array.isArray(body.pending);
    if (!ok) {
      throw new CorruptCheckpointError(
        body?.f !== undefined && body.f !== BODY_FORMAT
          ? `${what} was written in header format ${String(body.f)}, which this version does not read.`
          : `${what} is corrupt: its header is malformed.`,
      );
    }
    return body;
  }

  private decodeUser(body: HeaderBody): { pendingInputs: PendingInputContext[]; metadata: Record<string, unknown> } {
    const what = `Checkpoint ${body.id}`;
    let json = body.user;
    if (typeof json === 'string' && isSealed(json)) {
      try {
        json = JSON.parse(openStored(json, this.cipher, `${what} (header data)`)) as JsonValue;
      } catch (error) {
        if (CorruptCheckpointError.isInstance(error)) throw error;
        throw new CorruptCheckpointError(`${what} is corrupt: its header data does not parse.`);
      }
    }
    if (json === null || typeof json !== 'object' || Array.isArray(json) || !Array.isArray(json.p)) {
      throw new CorruptCheckpointError(`${what} is corrupt: its header data is malformed.`);
    }
    const decoded = this.decode({ p: json.p, m: json.m ?? {} }, what) as { p: PendingInputContext[]; m: Record<string, unknown> };
    return { pendingInputs: decoded.p, metadata: decoded.m };
  }

  private decode(json: JsonValue, what: string, reader?: TreeReader, path?: string): unknown {
    try {
      return this.codec.decode(json, { ...(reader ? { expand: reader.expand } : {}), ...(path ? { path } : {}) });
    } catch (error) {
      if (CorruptCheckpointError.isInstance(error)) {
        throw new CorruptCheckpointError(`${what} is corrupt: ${error.message}`, { cause: error });
      }
      throw error;
    }
  }

  private decodeCheckpoint(body: HeaderBody, reader: TreeReader): FlowCheckpoint {
    const what = `Checkpoint ${body.id}`;
    const nodeStates: Record<string, NodeCheckpointState> = {};
    for (const [nodeId, hash] of Object.entries(body.nodes)) {
      const blob = reader.blob(hash);
      if (blob === null || typeof blob !== 'object' || Array.isArray(blob) || !Object.hasOwn(blob, 'n')) {
        throw new CorruptCheckpointError(`${what} is corrupt: the state of node ${JSON.stringify(nodeId)} is malformed.`);
      }
      const base = pathKey('nodeStates', nodeId);
      const state = this.decode(blob.n!, what, reader, base) as Record<string, unknown>;
      for (const [field, short] of NODE_USER_FIELDS) {
        if (Object.hasOwn(blob, short)) state[field] = this.decode(blob[short]!, what, reader, `${base}.${field}`);
      }
      defineKey(nodeStates, nodeId, state);
    }
    const { pendingInputs, metadata } = this.decodeUser(body);
    const cp: FlowCheckpoint = {
      id: body.id,
      flowId: body.flowId,
      runId: body.runId,
      seq: body.seq,
      parentCheckpointId: body.parent,
      status: body.status,
      nodeStates,
      completedNodeIds: [...body.completed],
      pendingNodeIds: [...body.pending],
      originalInput: this.decode(reader.blob(body.input), what, reader, 'originalInput'),
      originalConfig: this.decode(reader.blob(body.config), what, reader, 'originalConfig') as Record<string, unknown>,
      pendingInputs,
      createdAt: new Date(body.createdAt),
      updatedAt: new Date(body.updatedAt),
      schemaVersion: body.schemaVersion,
      libraryVersion: body.libraryVersion,
      metadata,
    };
    if (body.workflowId !== undefined) cp.workflowId = body.workflowId;
    if (body.tenantId !== undefined) cp.tenantId = body.tenantId;
    if (body.trace !== undefined) cp.traceContext = body.trace;
    return cp;
  }

  private summarize(record: HeaderRecord): CheckpointSummary {
    const body = this.parseBody(record);
    const { pendingInputs, metadata } = this.decodeUser(body);
    const summary: CheckpointSummary = {
      id: body.id,
      flowId: body.flowId,
      runId: body.runId,
      seq: body.seq,
      parentCheckpointId: body.parent,
      status: body.status,
      completedNodeIds: [...body.completed],
      pendingNodeIds: [...body.pending],
      pendingInputs,
      createdAt: new Date(body.createdAt),
      updatedAt: new Date(body.updatedAt),
      schemaVersion: body.schemaVersion,
      libraryVersion: body.libraryVersion,
      metadata,
    };
    if (body.workflowId !== undefined) summary.workflowId = body.workflowId;
    if (body.tenantId !== undefined) summary.tenantId = body.tenantId;
    if (body.trace !== undefined) summary.traceContext = body.trace;
    return summary;
  }

  // ---- garbage collection -------------------------------------------------------------------

  /**
   * Deletes the run's blobs that no remaining checkpoint of the run references. Runs under a short GC lease so it
   * never races a worker writing the run (a save writes its blobs before its header); when the run is leased,
   * or anything cannot be read, it deletes nothing now and a later cleanup retries.
   */
  private async collectGarbage(runId: string): Promise<number> {
    const lease = await this.adapter.acquireLease(runId, `savepoint:gc:${uuidv7()}`, GC_LEASE_MS);
    if (!lease) return 0;
    try {
      const remaining = await this.allHeaders({ runId });
      const keep = new Set<string>();
      for (const record of remaining) {
        try {
          const body = this.parseBody(record);
          const reader = this.reader(record);
          await reader.loadAll([...Object.values(body.nodes), body.input, body.config]);
          for (const hash of reader.hashes) keep.add(hash);
        } catch {
          return 0;
        }
      }
      return await this.adapter.deleteBlobsExcept(runId, keep);
    } finally {
      await this.adapter.releaseLease(lease);
    }
  }

  private async allHeaders(filter: { flowId?: string; runId?: string }): Promise<HeaderRecord[]> {
    const out: HeaderRecord[] = [];
    for (;;) {
      const query: HeaderQuery = { ...filter, order: 'desc', limit: PAGE };
      if (out.length > 0) {
        const last = out[out.length - 1]!;
        if (filter.runId !== undefined) query.beforeSeq = last.seq;
        else query.beforeId = last.id;
      }
      const page = await this.adapter.queryHeaders(query);
      out.push(...page);
      if (page.length < PAGE) return out;
    }
  }

  private async allFlowIds(): Promise<string[]> {
    const flows = new Set<string>();
    let beforeId: string | undefined;
    for (;;) {
      const page = await this.adapter.queryHeaders({ order: 'desc', limit: PAGE, ...(beforeId ? { beforeId } : {}) });
      for (const h of page) flows.add(h.flowId);
      if (page.length < PAGE) return [...flows];
      beforeId = page[page.length - 1]!.id;
    }
  }

  // ---- dedupe memory ------------------------------------------------------------------------

  /**
   * Hashes the run is known to hold, if `checkpointId` is one this store wrote or read. Only hashes reachable
   * from the new checkpoint's parent are trusted: retention never deletes those while the parent is the head of
   * an unfinished run, so a blob skipped because it is "known" cannot have been collected meanwhile.
   */
  private knownFor(runId: string, checkpointId: string): ReadonlySet<string> | undefined {
    const run = this.known.get(runId);
    if (!run) return undefined;
    this.known.delete(runId);
    this.known.set(runId, run);
    return run.get(checkpointId);
  }

  private remember(runId: string, checkpointId: string, hashes: ReadonlySet<string>): void {
    let run = this.known.get(runId);
    if (run) this.known.delete(runId);
    else run = new Map();
    run.delete(checkpointId);
    run.set(checkpointId, hashes);
    while (run.size > 2) run.delete(run.keys().next().value!);
    this.known.set(runId, run);
    while (this.known.size > this.dedupeRuns) this.known.delete(this.known.keys().next().value!);
  }

  private forget(runId: string, ids: readonly string[]): void {
    const run = this.known.get(runId);
    if (!run) return;
    for (const id of ids) run.delete(id);
    if (run.size === 0) this.known.delete(runId);
  }

  private common(options: { limit?: number; tenantId?: string | undefined }): Partial<HeaderQuery> {
    const out: Partial<HeaderQuery> = {};
    if (options.limit !== undefined) {
      if (!Number.isInteger(options.limit) || options.limit < 0) throw new InvalidArgumentError('limit must be a non-negative integer.');
      out.limit = options.limit;
    }
    if (options.tenantId !== undefined) {
      assertSafeId(options.tenantId, 'tenantId');
      out.tenantId = options.tenantId;
    }
    return out;
  }
}

function assertOwner(owner: unknown): asserts owner is string {
  if (typeof owner !== 'string' || owner.length === 0 || owner.length > 512) {
    throw new InvalidArgumentError('A lease owner is a non-empty string of at most 512 characters.');
  }
}

function assertTtl(ttlMs: unknown): asserts ttlMs is number {
  if (typeof ttlMs !== 'number' || !Number.isFinite(ttlMs) || ttlMs <= 0) {
    throw new InvalidArgumentError('A lease ttlMs must be a positive number of milliseconds.');
  }
}

function pathKey(base: string, key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `${base}.${key}` : `${base}[${JSON.stringify(key)}]`;
}

function defineKey(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function sameHeader(a: HeaderRecord, b: HeaderRecord): boolean {
  return (
    a.id === b.id && a.runId === b.runId && a.flowId === b.flowId && a.seq === b.seq && a.parentCheckpointId === b.parentCheckpointId &&
    a.status === b.status && a.tenantId === b.tenantId && a.workflowId === b.workflowId && a.pendingInput === b.pendingInput &&
    a.createdAt === b.createdAt && a.updatedAt === b.updatedAt && a.body === b.body
  );
}
