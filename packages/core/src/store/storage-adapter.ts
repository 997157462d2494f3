import type { CheckpointStatus } from '../models/checkpoint.js';

/**
 * The contract every storage backend implements. It is deliberately small: the public
 * `CheckpointStore` (save/load/list/cleanup, blob trees, hashing, codec, encryption) is built once in
 * core on top of it. Backends never see the engine or the decoded state, only these records.
 *
 * Ids reaching an adapter are already validated by the store (`assertSafeId`): 1–256 characters of
 * `[A-Za-z0-9._:-]`, not `.` or `..`. Adapters may rely on that but must still use parameterized queries.
 */
export interface StorageAdapter {
  /** Human-readable name, e.g. `sqlite`, used in errors and events. */
  readonly name: string;
  readonly capabilities: AdapterCapabilities;

  // ---- blobs: content-addressed, scoped to a run -------------------------------------------
  /** Stores blobs; a blob whose hash already exists for that run is left as is (insert-or-ignore). */
  putBlobs(runId: string, blobs: readonly BlobRecord[]): Promise<void>;
  /** Returns the blobs found; a missing hash is simply absent from the map (the store decides it is corruption). */
  getBlobs(runId: string, hashes: readonly string[]): Promise<Map<string, string>>;
  /** Deletes every blob of the run whose hash is not in `keep`. Returns how many were deleted. */
  deleteBlobsExcept(runId: string, keep: ReadonlySet<string>): Promise<number>;

  // ---- headers: the commit point ----------------------------------------------------------
  /**
   * Writes a header atomically with the run head update. The head of a run is the header with the
   * highest `seq` written to it.
   * - `expectedHead` (when not `undefined`): compare-and-set; the current head id must equal it
   *   (`null` = the run has no header yet), else throw `CheckpointConflictError`.
   * - `lease`: fencing; the run's current lease must have this owner and token and be unexpired,
   *   else throw `LeaseLostError`. Without `lease`, the write is refused with `RunLockedError` while
   *   another owner holds an unexpired lease on the run.
   * A header with an id that already exists throws `CheckpointConflictError`.
   */
  putHeader(header: HeaderRecord, options?: PutHeaderOptions): Promise<void>;
  /**
   * Optional: `putBlobs(runId, blobs)` then `putHeader(header, options)` with exactly their semantics
   * (insert-or-ignore blobs; fencing, compare-and-set, duplicate-id conflict, head update) in one atomic
   * step, so a save costs one commit (one round trip on a server) instead of two. On an error no header is
   * written; blobs may remain, as after a failed `putHeader` (orphans that retention's GC removes).
   * `header.runId` equals `runId`. The store uses it when present, else the two calls.
   */
  commitCheckpoint?(runId: string, blobs: readonly BlobRecord[], header: HeaderRecord, options?: PutHeaderOptions): Promise<void>;
  getHeader(id: string): Promise<HeaderRecord | null>;
  /** Id of the run's head (highest seq), or null when the run has no header. */
  getHead(runId: string): Promise<string | null>;
  queryHeaders(query: HeaderQuery): Promise<HeaderRecord[]>;
  /** Deletes headers by id; unknown ids are ignored. Returns how many were deleted. */
  deleteHeaders(ids: readonly string[]): Promise<number>;

  // ---- leases: one worker per run at a time ------------------------------------------------
  /**
   * Claims the run for `owner` for `ttlMs`. Succeeds when no unexpired lease exists or the
   * existing one is the same owner's; every successful acquire from a new owner increments the
   * run's fencing token. Returns null when another owner holds an unexpired lease.
   */
  acquireLease(runId: string, owner: string, ttlMs: number): Promise<Lease | null>;
  /** Extends the lease; null when it was lost (expired and taken, or released). */
  renewLease(lease: Lease, ttlMs: number): Promise<Lease | null>;
  /** Releases the lease if it is still held with this token; otherwise a no-op. */
  releaseLease(lease: Lease): Promise<void>;
  /**
   * Optional (every bundled backend has it): how many milliseconds the run's unexpired lease has left, by the
   * same clock that enforces expiry (the database's or Redis server's, so clock skew between hosts does not
   * matter); null when no unexpired lease is held. It tells a refused worker when to retry
   * (`RunLockedError.retryAfterMs`); without it the store assumes a whole ttl.
   */
  leaseRemainingMs?(runId: string): Promise<number | null>;

  // ---- runtime bridge: event log, input inbox, change notification (see capabilities) ---------
  // The runtime calls these directly, not through the store: adapters validate their ids themselves
  // (`InvalidArgumentError` for an unsafe runId or key; core exports the shared checks, `checkAppendEvents`...).
  /**
   * Appends events to the run's log and returns them with their `seq`: per run, strictly increasing
   * from 1, gap-free, assigned by the storage so concurrent appenders (several processes) never clash.
   * One call's events get consecutive seqs, in the order given. Keeps at most `maxEventsPerRun`
   * (adapter option) newest events per run; trimming drops the oldest and never reuses a seq.
   */
  appendEvents?(runId: string, events: readonly NewEventRecord[]): Promise<EventRecord[]>;
  /**
   * Events with `seq > afterSeq` (a non-negative integer), oldest first, at most `limit` (all when
   * omitted). Events trimmed away are simply absent: the answer then starts above `afterSeq + 1`.
   */
  readEvents?(runId: string, afterSeq: number, limit?: number): Promise<EventRecord[]>;
  /**
   * Stores an answer for the run once per `key` (the client's idempotency key, a safe id). Returns the
   * stored record and whether this call created it; a repeated key returns the first record untouched
   * (consumed or not). A record returned with `created: true` is as durable as a committed checkpoint.
   */
  putInput?(runId: string, input: NewInputRecord): Promise<{ created: boolean; record: InputRecord }>;
  /**
   * Atomically marks every unconsumed input of the run as consumed by `consumer` and returns them,
   * oldest first (by `createdAt`, then `key`): each input is consumed exactly once, whichever process
   * asks. `consumedAt` is the storage's clock at that moment.
   */
  takeInputs?(runId: string, consumer: string): Promise<InputRecord[]>;
  /** Looks an input up by idempotency key (consumed or not), for replying to a retried request. */
  getInput?(runId: string, key: string): Promise<InputRecord | null>;
  /**
   * Calls `listener` when another writer touches the run (`channel` is a runId or `*` for all), so
   * waiters need not poll. Returns an unsubscribe function. Adapters without a native mechanism leave
   * this out and the runtime polls. The promise resolves once the subscription is live: a `publish`
   * started after that reaches the listener. A throwing listener never fails the publisher.
   * Unsubscribing twice is harmless.
   */
  subscribe?(channel: string, listener: (message: ChangeMessage) => void): Promise<() => Promise<void>>;
  /**
   * Publishes a change to subscribers of the run's channel and of `*`, in every process
   * (`notify: 'cross-process'`) or on this adapter instance only (`'in-process'`), including the publisher's own.
   */
  publish?(message: ChangeMessage): Promise<void>;

  /** Creates tables/directories/migrations. Idempotent; the store calls it once before first use. */
  setup?(): Promise<void>;
  /** Frees what the adapter created (never a client/pool the user passed in). */
  close?(): Promise<void>;
}

export interface AdapterCapabilities {
  /** Several processes may share this storage safely. */
  multiProcess: boolean;
  /** Lease expiry is enforced by the storage (or by a shared clock). */
  leases: boolean;
  /** Records expire on their own (Redis TTL). */
  ttl?: boolean;
  /** `appendEvents` / `readEvents` are implemented. */
  events?: boolean;
  /** `putInput` / `takeInputs` / `getInput` are implemented. */
  inbox?: boolean;
  /** `subscribe` / `publish` reach other processes (in-process only for embedded adapters). */
  notify?: 'cross-process' | 'in-process';
}

export interface NewEventRecord {
  type: string;
  /** JSON text. */
  data: string;
  /** Epoch milliseconds. */
  ts: number;
}

export interface EventRecord extends NewEventRecord {
  runId: string;
  seq: number;
}

export interface NewInputRecord {
  /** Idempotency key: the same key is stored once. */
  key: string;
  nodePath: string;
  /** JSON text of the (already validated) answer. */
  value: string;
  /** Epoch milliseconds. */
  createdAt: number;
}

export interface InputRecord extends NewInputRecord {
  runId: string;
  consumedBy: string | null;
  consumedAt: number | null;
}

export interface ChangeMessage {
  runId: string;
  kind: 'event' | 'input' | 'checkpoint' | 'lease';
  /** For `event`: the newest seq appended. */
  seq?: number;
}

export interface BlobRecord {
  /** Content hash of `data` (the store computes and verifies it). */
  hash: string;
  data: string;
}

/** The stored form of a checkpoint: indexed fields plus an opaque encoded body. */
export interface HeaderRecord {
  id: string;
  flowId: string;
  workflowId: string | null;
  runId: string;
  seq: number;
  parentCheckpointId: string | null;
  status: CheckpointStatus;
  tenantId: string | null;
  /** True when the checkpoint waits for human input (indexed for `listPendingInput`). */
  pendingInput: boolean;
  /** Epoch milliseconds. */
  createdAt: number;
  updatedAt: number;
  /** Encoded header (JSON text): node state references, pending inputs, metadata. Opaque to adapters. */
  body: string;
}

export interface PutHeaderOptions {
  expectedHead?: string | null;
  lease?: Lease;
}

/**
 * Filters are ANDed. Ordering: with `runId`, by `seq`; otherwise by `id` (UUIDv7, creation order).
 * Default order is newest first.
 */
export interface HeaderQuery {
  flowId?: string;
  runId?: string;
  statuses?: readonly CheckpointStatus[];
  /** `null` matches headers without a tenant; `undefined` does not filter. */
  tenantId?: string | null;
  pendingInput?: boolean;
  /** Only headers with `seq` below this (run queries). */
  beforeSeq?: number;
  /** Only headers with `id` below this (flow and global queries). */
  beforeId?: string;
  /** Only headers created before this epoch-ms time (retention). */
  createdBefore?: number;
  limit?: number;
  order?: 'asc' | 'desc';
}

export interface Lease {
  runId: string;
  owner: string;
  /** Fencing token: strictly increases each time the run changes hands. */
  token: number;
  /** Epoch milliseconds. */
  expiresAt: number;
}
