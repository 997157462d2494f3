import { Codec, defaultCodec } from '../codec/codec.js';
import { compileRedaction } from '../codec/redaction.js';
import { CheckpointConflictError, LeaseLostError, NotFoundError, RunLockedError } from '../errors.js';
import type { EncryptionConfig, RedactConfig } from '../models/checkpoint-config.js';
import { type CheckpointStatus, type FlowCheckpoint, type PendingInputContext } from '../models/checkpoint.js';
import { uuidv7 } from '../util/uuidv7.js';
import type { TreeTuning } from './blob-tree.js';
import { CheckpointCodec, type CheckpointSummary } from './checkpoint-codec.js';
import { validateCheckpoint } from './checkpoint-validation.js';
import { readIntact, type CorruptOption } from './corrupt-option.js';
import { BlobCipher } from './encryption.js';
import { commitHeader } from './header-commit.js';
import { PAGE } from './header-pages.js';
import { KnownBlobs } from './known-blobs.js';
import { PayloadSeal } from './payload-seal.js';
import { RetentionSweeper, type CleanupOptions, type CleanupResult } from './retention-sweeper.js';
import { readTombstone, type RetentionTombstone } from './retention-tombstone.js';
import { assertSafeId } from './safe-id.js';
import { assertAdapter, assertOwner, assertTtl, checkRetention, checkSaveOptions, checkTuning, queryLimits } from './store-arguments.js';
import type { HeaderQuery, HeaderRecord, Lease, PutHeaderOptions, StorageAdapter } from './storage-adapter.js';

export type { CheckpointSummary } from './checkpoint-codec.js';
export type { CleanupOptions, CleanupResult } from './retention-sweeper.js';
export type { CorruptOption } from './corrupt-option.js';
export type { RetentionTombstone } from './retention-tombstone.js';

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
  /**
   * The caller never mutates a node state object (nor anything inside it) once it was saved, and replaces it
   * when the node's state changes, as the engine does. A node state object this store saved before is then not
   * encoded again (its blobs are reused), so a save costs CPU for the nodes that changed, not for all of them.
   * What is stored for such a node is its value when it was first saved.
   */
  immutableNodeStates?: boolean;
}

export interface SaveResult {
  id: string;
  /** Blobs handed to the adapter (new content only). */
  blobsWritten: number;
  /** UTF-8 bytes handed to the adapter: blob data plus the header body. */
  bytesWritten: number;
}

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

/**
 * The public checkpoint API, built once over any `StorageAdapter`.
 *
 * A checkpoint is a small header (the commit point) plus content-addressed blobs scoped to the run: each node
 * state, the original input and the original config are blob trees (see `blob-tree.ts`). Saving writes only
 * the blobs the run does not already hold, then the header. This class checks arguments and sequences the
 * adapter calls; encoding lives in `CheckpointCodec`, dedupe memory in `KnownBlobs`, retention and blob
 * garbage collection in `RetentionSweeper`.
 */
export class CheckpointStore {
  readonly adapter: StorageAdapter;
  private readonly checkpoints: CheckpointCodec;
  private readonly known: KnownBlobs;
  private readonly sweeper: RetentionSweeper;
  private readonly payloads: PayloadSeal;
  private setupPromise: Promise<void> | undefined;

  constructor(adapter: StorageAdapter, options: CheckpointStoreOptions = {}) {
    assertAdapter(adapter);
    this.adapter = adapter;
    const codec = options.codec ?? defaultCodec;
    const redact = compileRedaction(options.redact);
    const cipher = options.encryption ? new BlobCipher(options.encryption) : undefined;
    this.checkpoints = new CheckpointCodec({ codec, redact, cipher, tuning: checkTuning(options.tuning) });
    this.known = new KnownBlobs(Math.max(1, options.dedupeRuns ?? 256));
    this.sweeper = new RetentionSweeper(adapter, this.checkpoints, this.known);
    this.payloads = new PayloadSeal(codec, redact, cipher);
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

  // ---- payloads outside checkpoints ---------------------------------------------------------

  /**
   * The stored text of any value Savepoint persists outside a checkpoint (an event's data, an inbox answer),
   * sealed exactly like checkpoint state: the store's `redact` rules, its codec (Dates, Maps... survive), then
   * AES-256-GCM with the active key when `encryption` is configured. Synchronous; writes nothing.
   */
  sealPayload(value: unknown): string {
    return this.payloads.seal(value);
  }

  /**
   * The value of a `sealPayload` text, decrypted with whichever configured key sealed it (rotated keys too).
   * `CorruptCheckpointError` when it fails authentication, does not parse, or is plaintext although this store
   * encrypts (a planted payload).
   */
  openPayload(text: string): unknown {
    return this.payloads.open(text);
  }

  // ---- save / load --------------------------------------------------------------------------

  async save(checkpoint: FlowCheckpoint, options: SaveOptions = {}): Promise<SaveResult> {
    const cp = validateCheckpoint(checkpoint);
    checkSaveOptions(options, cp.runId);
    // Encoded before the first await, so what is stored is the state as it was when save() was called.
    const known = cp.parentCheckpointId === null ? undefined : this.known.reachableFrom(cp.runId, cp.parentCheckpointId);
    const { header, blobs, reach } = this.checkpoints.encode(cp, known, options.immutableNodeStates === true ? checkpoint.nodeStates : undefined);
    let bytes = Buffer.byteLength(header.body, 'utf8');
    for (const blob of blobs) bytes += Buffer.byteLength(blob.data, 'utf8');
    await this.setup();
    const putOptions: PutHeaderOptions = {};
    if (options.expectedHead !== undefined) putOptions.expectedHead = options.expectedHead;
    if (options.lease) putOptions.lease = options.lease;
    await commitHeader(this.adapter, header, blobs, putOptions);
    this.known.remember(cp.runId, cp.id, reach);
    return { id: cp.id, blobsWritten: blobs.length, bytesWritten: bytes };
  }

  async load(id: string, options: TenantOption = {}): Promise<FlowCheckpoint> {
    assertSafeId(id, 'checkpoint id');
    if (options.tenantId !== undefined) assertSafeId(options.tenantId, 'tenantId');
    await this.setup();
    const record = await this.adapter.getHeader(id);
    if (!record) throw new NotFoundError(`Checkpoint ${id} not found.`);
    // verified first, so the tenant compared below is the one that was saved
    const verified = this.checkpoints.verify(record);
    if (options.tenantId !== undefined && record.tenantId !== options.tenantId) throw new NotFoundError(`Checkpoint ${id} not found.`);
    const { body, reader } = await this.checkpoints.read(record, verified, this.adapter);
    const cp = this.checkpoints.decode(body, reader);
    this.known.remember(record.runId, record.id, reader.hashes);
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
    this.known.forget(record.runId, id);
    await this.sweeper.collectGarbage(record.runId);
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
    this.known.forgetRun(runId);
    await this.adapter.deleteBlobsExcept(runId, new Set());
  }

  // ---- queries ------------------------------------------------------------------------------

  /** A flow's checkpoints, newest first (by id). */
  async listByFlow(
    flowId: string,
    options: { limit?: number; beforeId?: string; statuses?: CheckpointStatus[]; tenantId?: string } & CorruptOption = {},
  ): Promise<CheckpointSummary[]> {
    assertSafeId(flowId, 'flowId');
    const query: HeaderQuery = { flowId, order: 'desc', ...queryLimits(options) };
    if (options.beforeId !== undefined) {
      assertSafeId(options.beforeId, 'beforeId');
      query.beforeId = options.beforeId;
    }
    if (options.statuses !== undefined) query.statuses = [...options.statuses];
    await this.setup();
    return this.summaries(await this.adapter.queryHeaders(query), options);
  }

  /** A run's checkpoints, newest first (by seq). */
  async listByRun(runId: string, options: { limit?: number; beforeSeq?: number; tenantId?: string } & CorruptOption = {}): Promise<CheckpointSummary[]> {
    assertSafeId(runId, 'runId');
    const query: HeaderQuery = { runId, order: 'desc', ...queryLimits(options) };
    if (options.beforeSeq !== undefined) query.beforeSeq = options.beforeSeq;
    await this.setup();
    return this.summaries(await this.adapter.queryHeaders(query), options);
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

  /**
   * `id`, its parent, its parent's parent... up to the root; follows forks into their source run. A corrupt
   * header throws, or with `onCorrupt` is reported and ends the chain (its parent link cannot be trusted).
   */
  async getChain(id: string, options: TenantOption & CorruptOption = {}): Promise<CheckpointSummary[]> {
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
      const summary = this.summaries([record], options)[0];
      if (!summary) break;
      chain.push(summary);
      next = summary.parentCheckpointId;
    }
    return chain;
  }

  /** Run heads waiting for human input, newest first. A run that moved on is not listed. */
  async listPendingInput(options: { flowId?: string; tenantId?: string; limit?: number } & CorruptOption = {}): Promise<CheckpointSummary[]> {
    if (options.flowId !== undefined) assertSafeId(options.flowId, 'flowId');
    const limit = options.limit ?? Number.POSITIVE_INFINITY;
    const common = queryLimits({ tenantId: options.tenantId });
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
        // verified before its indexed runId is trusted, so a tampered header is never listed as waiting
        const [summary] = this.summaries([record], options);
        if (summary && (await this.adapter.getHead(summary.runId)) === summary.id) out.push(summary);
      }
      if (page.length < PAGE) break;
      beforeId = page[page.length - 1]!.id;
    }
    return out;
  }

  /** Verified summaries of `records` (see `CorruptOption`). */
  private summaries(records: readonly HeaderRecord[], options: CorruptOption): CheckpointSummary[] {
    return readIntact(records, options, (record) => this.checkpoints.summarize(record));
  }

  // ---- retention ----------------------------------------------------------------------------

  /**
   * Applies retention: each run in scope (one run, one flow's runs, or every run) keeps its newest
   * `maxCheckpointsPerRun` checkpoints (default: all; its head always), and finished runs whose head was last
   * updated more than `retentionDays` ago (default 30; `null`: never) are removed entirely, leaving a record that
   * `removedByRetention` reads. Unfinished runs and runs waiting for input are never removed, and another run's
   * activity never deletes a run's history. Then garbage-collects the blobs of each run it touched.
   */
  async cleanup(options: CleanupOptions = {}): Promise<CleanupResult> {
    const policy = checkRetention(options);
    await this.setup();
    return this.sweeper.sweep(policy);
  }

  /**
   * Why a run has no checkpoint: the record retention left when it removed the run (`retentionDays`), or null when
   * retention never removed it (it never existed, or `deleteRun` deleted it).
   */
  async removedByRetention(runId: string): Promise<RetentionTombstone | null> {
    assertSafeId(runId, 'runId');
    await this.setup();
    return readTombstone(this.adapter, runId);
  }

  // ---- leases -------------------------------------------------------------------------------

  /**
   * Claims a run; `RunLockedError` when another owner holds an unexpired lease, with `retryAfterMs`: how long that
   * lease has left as the adapter reports it (a whole `ttlMs` when the adapter cannot tell).
   */
  async acquireLease(runId: string, owner: string, ttlMs: number): Promise<Lease> {
    assertSafeId(runId, 'runId');
    assertOwner(owner);
    assertTtl(ttlMs);
    await this.setup();
    const lease = await this.adapter.acquireLease(runId, owner, ttlMs);
    if (!lease) throw await this.runLocked(runId, ttlMs);
    return lease;
  }

  private async runLocked(runId: string, ttlMs: number): Promise<RunLockedError> {
    const remaining = this.adapter.leaseRemainingMs ? await this.adapter.leaseRemainingMs(runId).catch(() => undefined) : undefined;
    // null: the lease lapsed or was released since the refusal, so a retry may succeed at once.
    const retryAfterMs = remaining === undefined ? ttlMs : Math.max(1, Math.ceil(remaining ?? 0));
    const error = new RunLockedError(
      `Run ${runId} is being run by another worker. Its lease expires in ${retryAfterMs} ms unless that worker renews it ` +
        '(it does while it is alive): retry then, or pass waitForLease: true to resume().',
    );
    error.retryAfterMs = retryAfterMs;
    return error;
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
}
