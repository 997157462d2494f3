import { linkSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { setImmediate } from 'node:timers/promises';
import {
  assertSafeId,
  checkAppendEvents,
  checkInputKey,
  checkMaxEventsPerRun,
  checkPutInput,
  checkReadEvents,
  checkTakeInputs,
  CheckpointConflictError,
  InProcessNotifier,
  InvalidArgumentError,
  LeaseLostError,
  matchesHeaderQuery,
  BackendUnavailableError,
  RunLockedError,
  type AdapterCapabilities,
  type BlobRecord,
  type ChangeMessage,
  type EventRecord,
  type HeaderQuery,
  type HeaderRecord,
  type InputRecord,
  type Lease,
  type NewEventRecord,
  type NewInputRecord,
  type PutHeaderOptions,
  type StorageAdapter,
  consoleLogger,
  type Logger,
} from '@savepoint/core';
import { fsyncDir, fsyncDirsInBackground, isTempName, linkOnce, tempOwner } from './atomic-write.js';
import { isMissing, toBackendError } from './fs-errors.js';
import { exists, listDir, readIfExists, unlinkIfExists } from './fs-entries.js';
import { headerFileName, isAbove, parseHeaderFileName, readHeaderFile, serializeHeader } from './header-file.js';
import { EventLog } from './event-log.js';
import { InputInbox, type InboxDirs } from './input-inbox.js';
import type { Stage } from './lock-stage.js';
import { OwedReleases, type LeaseState } from './owed-releases.js';
import { encodePack } from './pack-file.js';
import { RunBlobs } from './run-blobs.js';
import { RunLayout } from './run-layout.js';
import { isAlive, RunLock } from './run-lock.js';

export interface FileBackendOptions {
  /** Directory holding every checkpoint; created if missing. */
  dir: string;
  /** A run lock whose holder died, or that is older than this, is broken (default 10 000 ms). */
  lockStaleMs?: number;
  /** How long a write waits for a busy run lock before `BackendUnavailableError` (default 15 000 ms). */
  lockTimeoutMs?: number;
  /** Newest events kept per run by the event log; older segments are removed as new ones arrive (default 10 000). */
  maxEventsPerRun?: number;
  /** Where the backend reports what it repaired or worked around (default: core's `consoleLogger`). */
  logger?: Logger;
}

/** `owner: null` marks a released lease; the token stays so the next owner's token is higher. */
type StoredLease = LeaseState;

/** A run head: the committed header with the highest seq. */
interface HeadPointer {
  id: string;
  seq: number;
}

// Header reads are synchronous (small files); a query over many headers yields to the event loop between batches.
const READ_BATCH = 64;

/**
 * Stores checkpoints as plain files: one per checkpoint, its header as pretty JSON followed by the blobs first
 * saved with it (see run-blobs.ts), written in the run lock's stage, fsynced, and renamed into `headers/`: that
 * rename is the commit. Several processes on one host may share a directory: each run's changes are serialized
 * by a fenced lock (run-lock.ts, lock-stage.ts), and the run head is the committed header with the highest seq,
 * read from the `headers/` listing itself. Change notification stays in this instance (`notify: 'in-process'`):
 * waiters in other processes poll the event log and inbox.
 */
export class FileBackend implements StorageAdapter {
  readonly name = 'file';
  readonly capabilities: AdapterCapabilities = { multiProcess: true, leases: true, events: true, inbox: true, notify: 'in-process' };
  readonly dir: string;
  readonly maxEventsPerRun: number;
  private readonly layout: RunLayout;
  private readonly blobs: RunBlobs;
  private readonly lock: RunLock;
  private readonly eventLog: EventLog;
  private readonly inbox: InputInbox;
  private readonly notifier = new InProcessNotifier();
  private readonly owedReleases = new OwedReleases((lease) => this.releaseLease(lease));
  /** Directories known to exist: the backend never removes one, so each is created (and synced) once. */
  private readonly dirs = new Set<string>();
  private readonly logger: Logger;

  constructor(options: FileBackendOptions) {
    if (typeof options?.dir !== 'string' || options.dir.length === 0) {
      throw new InvalidArgumentError('FileBackend needs { dir }: the directory to keep checkpoints in.');
    }
    this.dir = resolve(options.dir);
    this.logger = options.logger ?? consoleLogger;
    this.layout = new RunLayout(this.dir);
    this.blobs = new RunBlobs(this.layout, (path) => this.ensureDir(path));
    this.lock = new RunLock({ staleMs: options.lockStaleMs ?? 10_000, timeoutMs: options.lockTimeoutMs ?? 15_000 });
    this.maxEventsPerRun = checkMaxEventsPerRun(options.maxEventsPerRun, 'FileBackend');
    this.eventLog = new EventLog(this.maxEventsPerRun);
    this.inbox = new InputInbox((path) => this.ensureDir(path));
  }

  /** Creates the directories. Optional: every method works on a fresh directory, and writes call it once themselves. */
  async setup(): Promise<void> {
    await this.guard('create its directories', async () => undefined);
  }

  /** Removes the lock stages this instance keeps between its holdings of a run lock (see run-lock.ts). */
  async close(): Promise<void> {
    this.lock.close();
  }

  // ---- blobs (see run-blobs.ts) ---------------------------------------------------------------

  async putBlobs(runId: string, blobs: readonly BlobRecord[]): Promise<void> {
    assertSafeId(runId, 'runId');
    for (const blob of blobs) assertSafeId(blob.hash, 'blob hash');
    if (blobs.length === 0) return;
    await this.guard('write blobs', () => this.locked(runId, (stage) => this.blobs.put(runId, blobs, stage)));
  }

  async getBlobs(runId: string, hashes: readonly string[]): Promise<Map<string, string>> {
    assertSafeId(runId, 'runId');
    for (const hash of hashes) assertSafeId(hash, 'blob hash');
    return this.guard('read blobs', () => this.blobs.read(runId, hashes));
  }

  async deleteBlobsExcept(runId: string, keep: ReadonlySet<string>): Promise<number> {
    assertSafeId(runId, 'runId');
    return this.guard('delete blobs', async () =>
      this.blobs.hasGarbage(runId, keep) ? this.locked(runId, (stage) => this.blobs.collect(runId, keep, stage)) : 0,
    );
  }

  // ---- headers --------------------------------------------------------------------------------

  async putHeader(header: HeaderRecord, options: PutHeaderOptions = {}): Promise<void> {
    await this.commitCheckpoint(header.runId, [], header, options);
  }

  /**
   * `putBlobs` + `putHeader` in one commit: the blobs the run lacks are written into the header's own file, after
   * the header (a pack, see run-blobs.ts), so a save writes and fsyncs one file however many blobs it has.
   */
  async commitCheckpoint(runId: string, blobs: readonly BlobRecord[], header: HeaderRecord, options: PutHeaderOptions = {}): Promise<void> {
    assertSafeId(header.id, 'checkpoint id');
    assertSafeId(runId, 'runId');
    assertSafeId(header.flowId, 'flowId');
    for (const blob of blobs) assertSafeId(blob.hash, 'blob hash');
    if (header.runId !== runId) throw new InvalidArgumentError(`The header of checkpoint ${header.id} belongs to run ${header.runId}, not ${runId}.`);
    await this.guard('write a checkpoint', async () => {
      const { layout } = this;
      for (const dir of [layout.headersDir(runId), layout.idsDir, layout.flowDir(header.flowId)]) this.ensureDir(dir);
      const text = serializeHeader(header);
      await this.locked(runId, async (stage) => {
        const headerNames = this.checkCommit(header, options);
        const fresh = this.blobs.newBlobs(runId, blobs, headerNames);
        const file = fresh.length > 0 ? encodePack(text, fresh) : { text, entries: [] };
        const staged = await stage.write(file.text, false);
        this.linkIndexes(header, staged);
        // The file and its links are synced at once: fsyncs running together join one journal commit, where one
        // after the other each pay for their own.
        const linksSynced = fsyncDirsInBackground([layout.idsDir, layout.flowDir(header.flowId)]);
        await stage.sync(staged);
        await linksSynced;
        await stage.publish(staged, layout.headerPath(runId, header.seq, header.id)); // the commit point
        fsyncDir(layout.headersDir(runId));
        this.blobs.savedHeader(runId, headerFileName(header.seq, header.id), file.entries);
      });
    });
  }

  /** Under the run lock: the id is new, the fencing token holds and the head is the one expected. Returns the `headers/` listing. */
  private checkCommit(header: HeaderRecord, options: PutHeaderOptions): string[] {
    const { runId } = header;
    if (this.readCommitted(this.layout.idLink(header.id)) !== null) throw alreadyExists(header.id);
    assertFencing(runId, this.currentLease(runId), options.lease);
    const headerNames = listDir(this.layout.headersDir(runId));
    const head = headOf(headerNames);
    if (options.expectedHead !== undefined && (head?.id ?? null) !== options.expectedHead) {
      throw new CheckpointConflictError(
        `Run ${runId} moved on: its head is ${head?.id ?? 'empty'}, not ${options.expectedHead ?? 'empty'}. ` +
          'Reload the latest checkpoint and retry.',
      );
    }
    return headerNames;
  }

  /**
   * Hard-links the staged header file into `ids/` and `flows/<flowId>/`, before the commit point: a crash (or a
   * broken lock) before the rename into `headers/` leaves only dangling index links, which readers ignore because
   * the header file is missing, or empty (its bytes were not fsynced yet: see `readCommitted`). The blobs in the
   * staged file are in no listing until that rename, so they are committed with the header or never seen.
   */
  private linkIndexes(header: HeaderRecord, staged: string): void {
    const idLink = this.layout.idLink(header.id);
    if (!linkOnce(staged, idLink)) {
      if (this.readCommitted(idLink) !== null) throw alreadyExists(header.id);
      replaceLink(staged, idLink); // left dangling by a writer that died before its commit
    }
    replaceLink(staged, this.layout.flowLink(header.flowId, header.id));
  }

  async getHeader(id: string): Promise<HeaderRecord | null> {
    assertSafeId(id, 'checkpoint id');
    return this.guard('read a checkpoint header', async () => this.readCommitted(this.layout.idLink(id)));
  }

  /** Derived from the `headers/` listing at every call, so it always agrees with `queryHeaders` and never lags a commit. */
  async getHead(runId: string): Promise<string | null> {
    assertSafeId(runId, 'runId');
    return this.guard('read a run head', async () => this.scanHead(runId)?.id ?? null);
  }

  async queryHeaders(query: HeaderQuery): Promise<HeaderRecord[]> {
    for (const [what, id] of [['runId', query.runId], ['flowId', query.flowId]] as const) {
      if (id !== undefined) assertSafeId(id, what);
    }
    return this.guard('query checkpoint headers', () =>
      query.runId !== undefined ? this.queryRun(query.runId, query) : this.queryIndex(query),
    );
  }

  /** A run query is a listing of one `headers/` directory, already named in seq order. */
  private async queryRun(runId: string, query: HeaderQuery): Promise<HeaderRecord[]> {
    const dir = this.layout.headersDir(runId);
    const entries = listDir(dir)
      .map((name) => ({ name, key: parseHeaderFileName(name) }))
      .filter((entry): entry is { name: string; key: { seq: number; id: string } } => entry.key !== null)
      .filter(({ key }) => query.beforeSeq === undefined || key.seq < query.beforeSeq)
      .sort((a, b) => a.key.seq - b.key.seq || compare(a.key.id, b.key.id));
    if (query.order !== 'asc') entries.reverse();
    return this.collect(
      entries.map(({ name }) => `${dir}/${name}`),
      readHeaderFile,
      query,
    );
  }

  /**
   * Flow and global queries list `flows/<flowId>/` or `ids/` (names are ids, so they sort by creation)
   * and read candidates newest first until `limit` match. Cost: one small read per candidate
   * examined, so a selective filter over a large directory reads many files.
   */
  private async queryIndex(query: HeaderQuery): Promise<HeaderRecord[]> {
    const dir = query.flowId !== undefined ? this.layout.flowDir(query.flowId) : this.layout.idsDir;
    const ids = listDir(dir)
      .filter((name) => !isTempName(name) && (query.beforeId === undefined || name < query.beforeId))
      .sort(compare);
    if (query.order !== 'asc') ids.reverse();
    return this.collect(
      ids.map((id) => `${dir}/${id}`),
      (path) => this.readCommitted(path),
      query,
    );
  }

  /** Reads headers synchronously (small files), yielding to the event loop between batches. */
  private async collect(paths: string[], read: (path: string) => HeaderRecord | null, query: HeaderQuery): Promise<HeaderRecord[]> {
    const limit = query.limit ?? Infinity;
    const found: HeaderRecord[] = [];
    for (let i = 0; i < paths.length && found.length < limit; i += READ_BATCH) {
      if (i > 0) await setImmediate();
      for (const path of paths.slice(i, i + READ_BATCH)) {
        const header = read(path);
        if (header !== null && matchesHeaderQuery(header, query) && found.length < limit) found.push(header);
      }
    }
    return found;
  }

  /** Reads a header through an index link; null unless the header file it belongs to is committed. */
  private readCommitted(linkPath: string): HeaderRecord | null {
    const header = readHeaderFile(linkPath, { indexLink: true });
    return header !== null && exists(this.layout.headerPath(header.runId, header.seq, header.id)) ? header : null;
  }

  async deleteHeaders(ids: readonly string[]): Promise<number> {
    for (const id of ids) assertSafeId(id, 'checkpoint id');
    return this.guard('delete checkpoint headers', async () => {
      const byRun = new Map<string, HeaderRecord[]>();
      for (const id of new Set(ids)) {
        const header = this.readCommitted(this.layout.idLink(id));
        if (header !== null) byRun.set(header.runId, [...(byRun.get(header.runId) ?? []), header]);
      }
      let deleted = 0;
      for (const [runId, headers] of byRun) deleted += await this.locked(runId, async (stage) => this.deleteRunHeaders(runId, headers, stage));
      return deleted;
    });
  }

  /**
   * Removing the header file (through the lock stage) is the commit point of a delete; the index links go after it.
   * The blobs saved with a header stay: its file lives on as their pack in `packs/` until garbage collection.
   */
  private deleteRunHeaders(runId: string, headers: HeaderRecord[], stage: Stage): number {
    this.blobs.keepBlobsOf(runId, headers.map((header) => headerFileName(header.seq, header.id)));
    let deleted = 0;
    for (const header of headers) {
      if (stage.remove(this.layout.headerPath(runId, header.seq, header.id))) deleted += 1;
    }
    fsyncDir(this.layout.headersDir(runId));
    for (const header of headers) {
      unlinkIfExists(this.layout.flowLink(header.flowId, header.id));
      unlinkIfExists(this.layout.idLink(header.id));
    }
    return deleted;
  }

  // ---- head and recovery ----------------------------------------------------------------------

  /** The head is the highest seq among committed headers. */
  private scanHead(runId: string): HeadPointer | null {
    return headOf(listDir(this.layout.headersDir(runId)));
  }

  /**
   * A process that died may have left temp files (inputs; header bytes, which the previous release wrote before
   * taking the lock). Live writers may be preparing theirs, so only a dead process's temps go (the pid is in the name).
   */
  private repairRun(runId: string): void {
    const { layout } = this;
    for (const dir of [layout.headersDir(runId), layout.inboxDir(runId), layout.consumedDir(runId)]) {
      for (const name of listDir(dir)) if (isTempName(name) && !isAlive(tempOwner(name))) unlinkIfExists(`${dir}/${name}`);
    }
  }

  /** Runs `work` holding the run lock, repairing first after a dead or stalled holder. */
  private async locked<T>(runId: string, work: (stage: Stage) => Promise<T>): Promise<T> {
    return this.lock.run(this.layout.lockDir(runId), async (stage, recovered) => {
      if (recovered) {
        this.logger.warn(`Run ${runId}: took over the run lock of a process that died or stalled; removing what it left half-written.`, {
          runId,
          dir: this.dir,
        });
        this.repairRun(runId);
      }
      return work(stage);
    });
  }

  // ---- event log (see event-log.ts) -------------------------------------------------------------

  async appendEvents(runId: string, events: readonly NewEventRecord[]): Promise<EventRecord[]> {
    checkAppendEvents(runId, events);
    if (events.length === 0) return [];
    return this.guard('append events', async () => {
      const dir = this.layout.eventsDir(runId);
      this.ensureDir(dir);
      // The run lock that orders header commits also hands out event seqs, across processes.
      return this.locked(runId, (stage) => this.eventLog.append(dir, runId, events, (path, text) => stage.writeFile(path, text)));
    });
  }

  async readEvents(runId: string, afterSeq: number, limit?: number): Promise<EventRecord[]> {
    checkReadEvents(runId, afterSeq, limit);
    return this.guard('read events', () => this.eventLog.read(this.layout.eventsDir(runId), runId, afterSeq, limit));
  }

  // ---- input inbox (see input-inbox.ts) ---------------------------------------------------------

  async putInput(runId: string, input: NewInputRecord): Promise<{ created: boolean; record: InputRecord }> {
    checkPutInput(runId, input);
    return this.guard('store an input', () => this.inbox.put(this.inboxDirs(runId), runId, input));
  }

  async takeInputs(runId: string, consumer: string): Promise<InputRecord[]> {
    checkTakeInputs(runId, consumer);
    return this.guard('take inputs', () => this.inbox.take(this.inboxDirs(runId), consumer, Date.now()));
  }

  async getInput(runId: string, key: string): Promise<InputRecord | null> {
    checkInputKey(runId, key);
    return this.guard('read an input', () => this.inbox.get(this.inboxDirs(runId), key));
  }

  private inboxDirs(runId: string): InboxDirs {
    return { inbox: this.layout.inboxDir(runId), consumed: this.layout.consumedDir(runId) };
  }

  // ---- change notification: this instance only ------------------------------------------------

  subscribe(channel: string, listener: (message: ChangeMessage) => void): Promise<() => Promise<void>> {
    return this.notifier.subscribe(channel, listener);
  }

  publish(message: ChangeMessage): Promise<void> {
    return this.notifier.publish(message);
  }

  // ---- leases ---------------------------------------------------------------------------------

  async acquireLease(runId: string, owner: string, ttlMs: number): Promise<Lease | null> {
    assertSafeId(runId, 'runId');
    return this.withLease(runId, 'acquire a lease', async (stored) => {
      const current = this.owedReleases.apply(stored);
      const now = Date.now();
      if (current !== null && current.owner !== null && current.owner !== owner && current.expiresAt > now) return null;
      // Re-acquiring a live lease keeps its token; anything else is a new holding and fences out the old.
      const held = current !== null && current.owner === owner && current.expiresAt > now;
      const token = held ? current.token : (current?.token ?? 0) + 1;
      return { runId, owner, token, expiresAt: now + ttlMs };
    });
  }

  async renewLease(lease: Lease, ttlMs: number): Promise<Lease | null> {
    assertSafeId(lease.runId, 'runId');
    return this.withLease(lease.runId, 'renew a lease', async (stored) =>
      isSameLease(this.owedReleases.apply(stored), lease) ? { ...lease, expiresAt: Date.now() + ttlMs } : null,
    );
  }

  /** A release that cannot be written (disk full, read-only) throws, and is then owed: see owed-releases.ts. */
  async releaseLease(lease: Lease): Promise<void> {
    assertSafeId(lease.runId, 'runId');
    try {
      await this.withLease(lease.runId, 'release a lease', async (stored) =>
        isSameLease(stored, lease) ? { ...lease, owner: null, expiresAt: 0 } : null,
      );
    } catch (error) {
      if (BackendUnavailableError.isInstance(error)) this.owedReleases.add(lease);
      throw error;
    }
  }

  async leaseRemainingMs(runId: string): Promise<number | null> {
    assertSafeId(runId, 'runId');
    return this.guard('read a lease', async () => {
      const current = this.currentLease(runId);
      const remaining = current === null || current.owner === null ? 0 : current.expiresAt - Date.now();
      return remaining > 0 ? remaining : null;
    });
  }

  /** Runs `decide` on the stored lease under the run lock and publishes what it returns (null: no change). */
  private async withLease<T extends StoredLease>(
    runId: string,
    action: string,
    decide: (current: StoredLease | null) => Promise<T | null>,
  ): Promise<T | null> {
    return this.guard(action, async () => {
      this.ensureDir(this.layout.runDir(runId));
      return this.locked(runId, async (stage) => {
        const next = await decide(this.readLease(runId));
        if (next !== null) {
          await stage.writeFile(this.layout.leasePath(runId), `${JSON.stringify(next, null, 2)}\n`);
          this.owedReleases.settle(runId);
        }
        return next;
      });
    });
  }

  private readLease(runId: string): StoredLease | null {
    const text = readIfExists(this.layout.leasePath(runId));
    return text === null ? null : (JSON.parse(text) as StoredLease);
  }

  /** The stored lease, released where this process owes its release. */
  private currentLease(runId: string): StoredLease | null {
    return this.owedReleases.apply(this.readLease(runId));
  }

  // ---- plumbing -------------------------------------------------------------------------------

  private ensureDir(path: string): void {
    if (this.dirs.has(path)) return;
    const created = mkdirSync(path, { recursive: true });
    // New directory entries are durable only once their parent is synced, up to the first that existed.
    for (let dir = path; created !== undefined && dir.length >= created.length; dir = dirname(dir)) fsyncDir(dirname(dir));
    this.dirs.add(path);
  }

  private async guard<T>(action: string, work: () => Promise<T>, retried = false): Promise<T> {
    try {
      for (const dir of [this.layout.runsDir, this.layout.idsDir, this.layout.flowsDir]) this.ensureDir(dir);
      return await work();
    } catch (error) {
      // A directory was removed under us (expected ENOENTs are handled where they happen): forget the
      // directories known to exist and retry once, which recreates them. Write paths commit in their last
      // step, so a retry redoes only uncommitted work.
      if (isMissing(error) && !retried) {
        this.dirs.clear();
        return this.guard(action, work, true);
      }
      throw toBackendError(error, action, this.dir);
    }
  }
}

function assertFencing(runId: string, current: StoredLease | null, lease: Lease | undefined): void {
  const now = Date.now();
  if (lease !== undefined) {
    if (lease.runId === runId && isSameLease(current, lease) && current.expiresAt > now) return;
    throw new LeaseLostError(
      `The lease of ${lease.owner} on run ${runId} (token ${lease.token}) expired or was taken over; ` +
        'stop this worker and let the current owner continue.',
    );
  }
  if (current !== null && current.owner !== null && current.expiresAt > now) {
    throw new RunLockedError(
      `Run ${runId} is leased by ${current.owner} until ${new Date(current.expiresAt).toISOString()}; ` +
        'write with that lease, or wait for it to be released or expire.',
    );
  }
}

/**
 * The header with the highest seq in a listing of `headers/`. Names start with the zero-padded seq, so a name that
 * sorts below the best one's seq is skipped unparsed (a listing holds every header the run retains).
 */
function headOf(names: readonly string[]): HeadPointer | null {
  let best: HeadPointer | null = null;
  let bestSeq = '';
  for (const name of names) {
    if (name < bestSeq) continue;
    const key = parseHeaderFileName(name);
    if (key !== null && (best === null || isAbove(key, best))) {
      best = key;
      bestSeq = name.slice(0, 16);
    }
  }
  return best;
}

function alreadyExists(id: string): CheckpointConflictError {
  return new CheckpointConflictError(`Checkpoint ${id} already exists and checkpoints are immutable: save under a new id.`);
}

function isSameLease(current: StoredLease | null, lease: Lease): current is StoredLease {
  return current !== null && current.owner !== null && current.owner === lease.owner && current.token === lease.token;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Hard-links `target` at `path`, replacing a leftover entry there. */
function replaceLink(target: string, path: string): void {
  if (linkOnce(target, path)) return;
  unlinkIfExists(path);
  linkSync(target, path);
}
