import { CheckpointConflictError, InvalidArgumentError, LeaseLostError, RunLockedError } from '../errors.js';
import { matchesHeaderQuery } from '../store/header-query.js';
import type {
  AdapterCapabilities,
  BlobRecord,
  ChangeMessage,
  EventRecord,
  HeaderQuery,
  HeaderRecord,
  InputRecord,
  Lease,
  NewEventRecord,
  NewInputRecord,
  PutHeaderOptions,
  StorageAdapter,
} from '../store/storage-adapter.js';
import { InProcessNotifier } from './in-process-notifier.js';
import {
  checkAppendEvents,
  checkInputKey,
  checkMaxEventsPerRun,
  checkPutInput,
  checkReadEvents,
  checkTakeInputs,
  compareInputs,
  newInputRecord,
} from './runtime-records.js';

export interface MemoryAdapterOptions {
  /** Clock used for lease expiry (epoch ms). Injectable so tests can move time. Default `Date.now`. */
  now?: () => number;
  /** Adapter name used in errors and events. Default `memory`. */
  name?: string;
  /** Newest events kept per run; older ones are dropped as new ones arrive. Default 10 000. */
  maxEventsPerRun?: number;
}

/** A run's event log: `list` holds the kept events, contiguous by seq; `last` is the newest seq handed out. */
interface EventLog {
  last: number;
  list: EventRecord[];
}

interface LeaseState {
  owner: string;
  token: number;
  expiresAt: number;
}

/**
 * The reference implementation of the `StorageAdapter` contract, in process memory.
 * Every method runs synchronously inside its promise, so each one is atomic with respect to the others.
 * Records are copied on the way in and out: callers can never mutate what is stored.
 * Data is lost when the process exits; use it for tests, demos and as the model for other backends.
 */
export class MemoryAdapter implements StorageAdapter {
  readonly name: string;
  readonly capabilities: AdapterCapabilities = Object.freeze({
    multiProcess: false,
    leases: true,
    events: true,
    inbox: true,
    notify: 'in-process',
  });
  readonly maxEventsPerRun: number;

  private readonly now: () => number;
  /** runId -> hash -> data */
  private readonly blobs = new Map<string, Map<string, string>>();
  /** id -> header */
  private readonly headers = new Map<string, HeaderRecord>();
  /** runId -> ids of its headers */
  private readonly runs = new Map<string, Set<string>>();
  /** runId -> its head (highest seq; ties broken by id), kept up to date on every write and delete. */
  private readonly heads = new Map<string, HeaderRecord>();
  private readonly leases = new Map<string, LeaseState>();
  /** Last fencing token handed out per run; survives release so tokens only ever grow. */
  private readonly tokens = new Map<string, number>();
  private readonly events = new Map<string, EventLog>();
  /** runId -> key -> input */
  private readonly inputs = new Map<string, Map<string, InputRecord>>();
  private readonly notifier = new InProcessNotifier();

  constructor(options: MemoryAdapterOptions = {}) {
    this.now = options.now ?? Date.now;
    this.name = options.name ?? 'memory';
    this.maxEventsPerRun = checkMaxEventsPerRun(options.maxEventsPerRun, 'MemoryAdapter');
  }

  async setup(): Promise<void> {}

  async close(): Promise<void> {}

  // ---- blobs --------------------------------------------------------------------------------

  async putBlobs(runId: string, blobs: readonly BlobRecord[]): Promise<void> {
    if (blobs.length === 0) return;
    let run = this.blobs.get(runId);
    if (!run) {
      run = new Map();
      this.blobs.set(runId, run);
    }
    for (const blob of blobs) {
      if (typeof blob.hash !== 'string' || typeof blob.data !== 'string') {
        throw new InvalidArgumentError('putBlobs: every blob needs a string hash and string data.');
      }
      if (!run.has(blob.hash)) run.set(blob.hash, blob.data);
    }
  }

  async getBlobs(runId: string, hashes: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    const run = this.blobs.get(runId);
    if (!run) return out;
    for (const hash of hashes) {
      const data = run.get(hash);
      if (data !== undefined) out.set(hash, data);
    }
    return out;
  }

  async deleteBlobsExcept(runId: string, keep: ReadonlySet<string>): Promise<number> {
    const run = this.blobs.get(runId);
    if (!run) return 0;
    let deleted = 0;
    for (const hash of [...run.keys()]) {
      if (!keep.has(hash)) {
        run.delete(hash);
        deleted += 1;
      }
    }
    if (run.size === 0) this.blobs.delete(runId);
    return deleted;
  }

  // ---- headers ------------------------------------------------------------------------------

  async putHeader(header: HeaderRecord, options: PutHeaderOptions = {}): Promise<void> {
    const record = copyHeader(header);
    if (this.headers.has(record.id)) {
      throw new CheckpointConflictError(`Checkpoint ${record.id} already exists.`);
    }
    this.checkLease(record.runId, options.lease);
    if (options.expectedHead !== undefined) {
      const head = this.headOf(record.runId);
      if (head !== options.expectedHead) {
        throw new CheckpointConflictError(
          `Run ${record.runId} moved: its head is ${head ?? 'empty'}, expected ${options.expectedHead ?? 'empty'}.`,
        );
      }
    }
    this.headers.set(record.id, record);
    let ids = this.runs.get(record.runId);
    if (!ids) {
      ids = new Set();
      this.runs.set(record.runId, ids);
    }
    ids.add(record.id);
    const head = this.heads.get(record.runId);
    if (!head || isNewer(record, head)) this.heads.set(record.runId, record);
  }

  async getHeader(id: string): Promise<HeaderRecord | null> {
    const header = this.headers.get(id);
    return header ? copyHeader(header) : null;
  }

  async getHead(runId: string): Promise<string | null> {
    return this.headOf(runId);
  }

  async queryHeaders(query: HeaderQuery): Promise<HeaderRecord[]> {
    const source: Iterable<HeaderRecord> =
      query.runId !== undefined
        ? [...(this.runs.get(query.runId) ?? [])].map((id) => this.headers.get(id)!)
        : this.headers.values();
    const matches = [...source].filter((h) => matchesHeaderQuery(h, query));
    const bySeq = query.runId !== undefined;
    matches.sort((a, b) => (bySeq && a.seq !== b.seq ? a.seq - b.seq : compareStrings(a.id, b.id)));
    if ((query.order ?? 'desc') === 'desc') matches.reverse();
    const limited = query.limit !== undefined ? matches.slice(0, Math.max(0, query.limit)) : matches;
    return limited.map(copyHeader);
  }

  async deleteHeaders(ids: readonly string[]): Promise<number> {
    let deleted = 0;
    for (const id of ids) {
      const header = this.headers.get(id);
      if (!header) continue;
      this.headers.delete(id);
      const run = this.runs.get(header.runId)!;
      run.delete(id);
      if (run.size === 0) this.runs.delete(header.runId);
      if (this.heads.get(header.runId)?.id === id) this.recomputeHead(header.runId);
      deleted += 1;
    }
    return deleted;
  }

  // ---- leases -------------------------------------------------------------------------------

  async acquireLease(runId: string, owner: string, ttlMs: number): Promise<Lease | null> {
    const now = this.now();
    const current = this.leases.get(runId);
    if (current && current.expiresAt > now) {
      if (current.owner !== owner) return null;
      current.expiresAt = now + ttlMs;
      return { runId, owner, token: current.token, expiresAt: current.expiresAt };
    }
    const token = (this.tokens.get(runId) ?? 0) + 1;
    this.tokens.set(runId, token);
    const state: LeaseState = { owner, token, expiresAt: now + ttlMs };
    this.leases.set(runId, state);
    return { runId, owner, token, expiresAt: state.expiresAt };
  }

  async renewLease(lease: Lease, ttlMs: number): Promise<Lease | null> {
    const current = this.leases.get(lease.runId);
    // Lost means released, or taken by someone else (which changes the token). An expired lease nobody
    // took over is still this holder's: no other writer can have committed in between.
    if (!current || current.owner !== lease.owner || current.token !== lease.token) return null;
    current.expiresAt = this.now() + ttlMs;
    return { runId: lease.runId, owner: lease.owner, token: current.token, expiresAt: current.expiresAt };
  }

  async releaseLease(lease: Lease): Promise<void> {
    const current = this.leases.get(lease.runId);
    if (current && current.owner === lease.owner && current.token === lease.token) this.leases.delete(lease.runId);
  }

  async leaseRemainingMs(runId: string): Promise<number | null> {
    const current = this.leases.get(runId);
    const remaining = current ? current.expiresAt - this.now() : 0;
    return remaining > 0 ? remaining : null;
  }

  // ---- event log ----------------------------------------------------------------------------

  async appendEvents(runId: string, events: readonly NewEventRecord[]): Promise<EventRecord[]> {
    checkAppendEvents(runId, events);
    if (events.length === 0) return [];
    const log = this.events.get(runId) ?? { last: 0, list: [] };
    this.events.set(runId, log);
    const appended = events.map((event): EventRecord => ({ runId, seq: ++log.last, type: event.type, data: event.data, ts: event.ts }));
    log.list.push(...appended.map(copyEvent));
    const excess = log.list.length - this.maxEventsPerRun;
    if (excess > 0) log.list.splice(0, excess);
    return appended;
  }

  async readEvents(runId: string, afterSeq: number, limit?: number): Promise<EventRecord[]> {
    checkReadEvents(runId, afterSeq, limit);
    const list = this.events.get(runId)?.list ?? [];
    if (list.length === 0) return [];
    // The kept events are contiguous, so the first one after `afterSeq` is found by arithmetic.
    const start = Math.max(0, afterSeq - list[0]!.seq + 1);
    const end = limit === undefined ? list.length : start + limit;
    return list.slice(start, end).map(copyEvent);
  }

  // ---- input inbox ----------------------------------------------------------------------------

  async putInput(runId: string, input: NewInputRecord): Promise<{ created: boolean; record: InputRecord }> {
    checkPutInput(runId, input);
    let run = this.inputs.get(runId);
    if (!run) {
      run = new Map();
      this.inputs.set(runId, run);
    }
    const existing = run.get(input.key);
    if (existing) return { created: false, record: copyInput(existing) };
    const record = newInputRecord(runId, input);
    run.set(input.key, record);
    return { created: true, record: copyInput(record) };
  }

  async takeInputs(runId: string, consumer: string): Promise<InputRecord[]> {
    checkTakeInputs(runId, consumer);
    const taken: InputRecord[] = [];
    const consumedAt = this.now();
    for (const record of this.inputs.get(runId)?.values() ?? []) {
      if (record.consumedBy !== null) continue;
      record.consumedBy = consumer;
      record.consumedAt = consumedAt;
      taken.push(copyInput(record));
    }
    return taken.sort(compareInputs);
  }

  async getInput(runId: string, key: string): Promise<InputRecord | null> {
    checkInputKey(runId, key);
    const record = this.inputs.get(runId)?.get(key);
    return record ? copyInput(record) : null;
  }

  // ---- change notification --------------------------------------------------------------------

  subscribe(channel: string, listener: (message: ChangeMessage) => void): Promise<() => Promise<void>> {
    return this.notifier.subscribe(channel, listener);
  }

  publish(message: ChangeMessage): Promise<void> {
    return this.notifier.publish(message);
  }

  // ---- internals ----------------------------------------------------------------------------

  private headOf(runId: string): string | null {
    return this.heads.get(runId)?.id ?? null;
  }

  private recomputeHead(runId: string): void {
    let head: HeaderRecord | undefined;
    for (const id of this.runs.get(runId) ?? []) {
      const h = this.headers.get(id)!;
      if (!head || isNewer(h, head)) head = h;
    }
    if (head) this.heads.set(runId, head);
    else this.heads.delete(runId);
  }

  private checkLease(runId: string, lease: Lease | undefined): void {
    const current = this.leases.get(runId);
    const now = this.now();
    if (lease) {
      if (
        lease.runId !== runId ||
        !current ||
        current.owner !== lease.owner ||
        current.token !== lease.token ||
        current.expiresAt <= now
      ) {
        throw new LeaseLostError(
          `Lease on run ${runId} held by ${lease.owner} (token ${lease.token}) is no longer valid: ` +
            (!current
              ? 'it was released or never taken.'
              : current.token !== lease.token
                ? `the run is now held by ${current.owner} (token ${current.token}).`
                : 'it expired.'),
        );
      }
      return;
    }
    if (current && current.expiresAt > now) {
      throw new RunLockedError(`Run ${runId} is locked by ${current.owner} until ${new Date(current.expiresAt).toISOString()}.`);
    }
  }
}

function copyEvent(e: EventRecord): EventRecord {
  return { runId: e.runId, seq: e.seq, type: e.type, data: e.data, ts: e.ts };
}

function copyInput(i: InputRecord): InputRecord {
  return {
    runId: i.runId,
    key: i.key,
    nodePath: i.nodePath,
    value: i.value,
    createdAt: i.createdAt,
    consumedBy: i.consumedBy,
    consumedAt: i.consumedAt,
  };
}

function copyHeader(h: HeaderRecord): HeaderRecord {
  return {
    id: h.id,
    flowId: h.flowId,
    workflowId: h.workflowId,
    runId: h.runId,
    seq: h.seq,
    parentCheckpointId: h.parentCheckpointId,
    status: h.status,
    tenantId: h.tenantId,
    pendingInput: h.pendingInput,
    createdAt: h.createdAt,
    updatedAt: h.updatedAt,
    body: h.body,
  };
}

/** Head order inside a run: higher seq wins; equal seqs (which the store never writes) fall back to the id. */
function isNewer(a: HeaderRecord, b: HeaderRecord): boolean {
  return a.seq > b.seq || (a.seq === b.seq && a.id > b.id);
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
