import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import {
  BackendUnavailableError,
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
import { buildHeaderQuery } from './header-query-builder.js';
import { HEADER_COLUMNS, fromRow, toValues, type HeaderRow } from './header-row.js';
import { migrations } from './migrations/index.js';
import { migrate } from './migrator.js';
import { sqliteCode, toSavepointError } from './sqlite-errors.js';
import { SqliteEventLog } from './sqlite-event-log.js';
import { SqliteInbox } from './sqlite-inbox.js';
import { tableNames, type TableNames } from './table-names.js';

interface CommonOptions {
  /** Prefix of every table and index name. Default `savepoint_`. Letters, digits and `_` only. */
  tablePrefix?: string;
  /**
   * Table recording applied migrations. Default `<tablePrefix>migrations` (`savepoint_migrations`), so
   * backends with different prefixes in one database each migrate their own tables.
   */
  migrationTable?: string;
  /**
   * `NORMAL` (default): with WAL, a commit survives a process crash but the last commits may be lost on
   * power failure or OS crash, and commits skip the fsync. `FULL`: every commit is fsynced.
   * Applies only to connections this backend opens.
   */
  synchronous?: 'NORMAL' | 'FULL';
  /** How long a write waits for another connection's lock before `BackendUnavailableError`. Default 5000. */
  busyTimeoutMs?: number;
  /** Newest events kept per run by the event log; older rows are deleted as new ones arrive. Default 10 000. */
  maxEventsPerRun?: number;
  /** Where the backend reports what it repaired or worked around (default: core's `consoleLogger`). */
  logger?: Logger;
}

export type SqliteBackendOptions =
  /** A database file (parent directories are created) or `:memory:`. The backend owns and closes it. */
  | (CommonOptions & { path: string; db?: undefined })
  /** A connection the caller owns: its pragmas are left as they are and `close()` does not close it. */
  | (CommonOptions & { db: Database.Database; path?: undefined });

interface LeaseRow {
  owner: string;
  token: number;
  expires_at: number;
}

const PAGE_SIZE = 8192;

// A released lease keeps its row with this expiry, so its token survives for the next owner.
const RELEASED = 0;

/**
 * Savepoint storage on SQLite: the embedded default for single-host production, shareable by processes.
 * Change notification stays in this instance (`notify: 'in-process'`): SQLite has no channel between
 * connections, so waiters in other processes poll the event log and inbox.
 */
export class SqliteBackend implements StorageAdapter {
  readonly name = 'sqlite';
  readonly capabilities: AdapterCapabilities = { multiProcess: true, leases: true, events: true, inbox: true, notify: 'in-process' };
  readonly maxEventsPerRun: number;

  private readonly tables: TableNames;
  private readonly path: string | undefined;
  private readonly synchronous: 'NORMAL' | 'FULL';
  private readonly busyTimeoutMs: number;
  private readonly statements = new Map<string, Database.Statement>();
  private readTransaction: Database.Transaction<(runId: string, hashes: readonly string[]) => Map<string, string>> | undefined;
  /** Built once: a save is the hot path, and better-sqlite3 makes several closures per `db.transaction()`. */
  private commitTransaction: Database.Transaction<(runId: string, blobs: readonly BlobRecord[], header: HeaderRecord, options: PutHeaderOptions) => void> | undefined;
  private db: Database.Database | undefined;
  private migrated = false;
  private closed = false;
  private readonly eventLog: SqliteEventLog;
  private readonly inbox: SqliteInbox;
  private readonly logger: Logger;
  private readonly notifier = new InProcessNotifier();

  constructor(options: SqliteBackendOptions) {
    const { tablePrefix = 'savepoint_', migrationTable = `${tablePrefix}migrations` } = options;
    this.tables = tableNames(tablePrefix, migrationTable);
    this.logger = options.logger ?? consoleLogger;
    this.synchronous = options.synchronous ?? 'NORMAL';
    if (this.synchronous !== 'NORMAL' && this.synchronous !== 'FULL') {
      throw new InvalidArgumentError(`SqliteBackend option synchronous must be 'NORMAL' or 'FULL', got ${String(this.synchronous)}.`);
    }
    this.busyTimeoutMs = options.busyTimeoutMs ?? 5000;
    if (!Number.isInteger(this.busyTimeoutMs) || this.busyTimeoutMs < 0) {
      throw new InvalidArgumentError(`SqliteBackend option busyTimeoutMs must be a non-negative integer, got ${String(this.busyTimeoutMs)}.`);
    }
    this.maxEventsPerRun = checkMaxEventsPerRun(options.maxEventsPerRun, 'SqliteBackend');
    const prepare = (sql: string) => this.stmt(sql);
    this.eventLog = new SqliteEventLog(this.tables.events, this.maxEventsPerRun, prepare);
    this.inbox = new SqliteInbox(this.tables.inputs, prepare);
    if (options.db !== undefined) {
      this.db = options.db;
    } else if (typeof options.path === 'string' && options.path.length > 0) {
      this.path = options.path;
    } else {
      throw new InvalidArgumentError(
        "SqliteBackend needs { path } (a file, or ':memory:') or { db } (an open better-sqlite3 Database).",
      );
    }
  }

  async setup(): Promise<void> {
    await this.use('set up its tables', () => undefined);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.statements.clear();
    this.commitTransaction = undefined;
    this.readTransaction = undefined;
    if (this.path !== undefined) this.db?.close();
    this.db = undefined;
  }

  // ---- blobs ------------------------------------------------------------------------------

  async putBlobs(runId: string, blobs: readonly BlobRecord[]): Promise<void> {
    if (blobs.length === 0) return;
    await this.use('write blobs', (db) => db.transaction(() => this.writeBlobs(runId, blobs)).immediate());
  }

  async getBlobs(runId: string, hashes: readonly string[]): Promise<Map<string, string>> {
    return this.use('read blobs', (db) => {
      // One read transaction: every blob comes from the same snapshot even while others write. Built once: it
      // is on every load's path (and a loop of point lookups beats one IN (json_each) query at any count).
      this.readTransaction ??= db.transaction((run: string, wanted: readonly string[]) => {
        const select = this.stmt(`SELECT data FROM ${this.tables.blobs} WHERE run_id = ? AND hash = ?`).pluck();
        const found = new Map<string, string>();
        for (const hash of wanted) {
          const data = select.get(run, hash) as string | undefined;
          if (data !== undefined) found.set(hash, data);
        }
        return found;
      });
      return this.readTransaction(runId, hashes);
    });
  }

  async deleteBlobsExcept(runId: string, keep: ReadonlySet<string>): Promise<number> {
    return this.use('delete blobs', (db) => {
      const hashes = this.stmt(`SELECT hash FROM ${this.tables.blobs} WHERE run_id = ?`).pluck();
      const remove = this.stmt(`DELETE FROM ${this.tables.blobs} WHERE run_id = ? AND hash = ?`);
      return db.transaction(() => {
        let deleted = 0;
        for (const hash of hashes.all(runId) as string[]) {
          if (!keep.has(hash)) deleted += remove.run(runId, hash).changes;
        }
        return deleted;
      }).immediate();
    });
  }

  // ---- headers ----------------------------------------------------------------------------

  async putHeader(header: HeaderRecord, options: PutHeaderOptions = {}): Promise<void> {
    await this.use('write a checkpoint header', (db) => db.transaction(() => this.writeHeader(header, options)).immediate());
  }

  /** Blobs and header in one IMMEDIATE transaction: one commit per save instead of two. */
  async commitCheckpoint(runId: string, blobs: readonly BlobRecord[], header: HeaderRecord, options: PutHeaderOptions = {}): Promise<void> {
    await this.use('write a checkpoint', (db) => {
      this.commitTransaction ??= db.transaction((runId: string, blobs: readonly BlobRecord[], header: HeaderRecord, options: PutHeaderOptions) => {
        this.writeBlobs(runId, blobs);
        this.writeHeader(header, options);
      });
      this.commitTransaction.immediate(runId, blobs, header, options);
    });
  }

  async getHeader(id: string): Promise<HeaderRecord | null> {
    return this.use('read a checkpoint header', () => {
      const row = this.stmt(`SELECT ${HEADER_COLUMNS} FROM ${this.tables.headers} WHERE id = ?`).get(id) as
        | HeaderRow
        | undefined;
      return row === undefined ? null : fromRow(row);
    });
  }

  async getHead(runId: string): Promise<string | null> {
    return this.use('read a run head', () => this.headOf(runId));
  }

  async queryHeaders(query: HeaderQuery): Promise<HeaderRecord[]> {
    return this.use('query checkpoint headers', () => {
      const { sql, params } = buildHeaderQuery(this.tables.headers, query);
      return (this.stmt(sql).all(...params) as HeaderRow[]).map(fromRow);
    });
  }

  async deleteHeaders(ids: readonly string[]): Promise<number> {
    if (ids.length === 0) return 0;
    return this.use('delete checkpoint headers', (db) => {
      const remove = this.stmt(`DELETE FROM ${this.tables.headers} WHERE id = ?`);
      return db.transaction(() => {
        let deleted = 0;
        for (const id of ids) deleted += remove.run(id).changes;
        return deleted;
      }).immediate();
    });
  }

  // ---- leases -----------------------------------------------------------------------------

  async acquireLease(runId: string, owner: string, ttlMs: number): Promise<Lease | null> {
    return this.use('acquire a lease', (db) =>
      db.transaction((): Lease | null => {
        const now = Date.now();
        const current = this.leaseOf(runId);
        const held = current !== undefined && current.expires_at > now;
        if (held && current.owner !== owner) return null;
        // Re-acquiring one's own live lease keeps the token; any change of hands moves it forward.
        const token = held ? current.token : (current?.token ?? 0) + 1;
        const lease: Lease = { runId, owner, token, expiresAt: now + ttlMs };
        this.writeLease(lease);
        return lease;
      }).immediate(),
    );
  }

  async renewLease(lease: Lease, ttlMs: number): Promise<Lease | null> {
    return this.use('renew a lease', (db) =>
      db.transaction((): Lease | null => {
        const current = this.leaseOf(lease.runId);
        // Same token means nobody acquired the run since, so even a just-expired lease may be extended.
        if (
          current === undefined ||
          current.owner !== lease.owner ||
          current.token !== lease.token ||
          current.expires_at === RELEASED
        ) {
          return null;
        }
        const renewed: Lease = { ...lease, expiresAt: Date.now() + ttlMs };
        this.writeLease(renewed);
        return renewed;
      }).immediate(),
    );
  }

  async releaseLease(lease: Lease): Promise<void> {
    await this.use('release a lease', () => {
      this.stmt(
        `UPDATE ${this.tables.leases} SET expires_at = ${RELEASED} WHERE run_id = ? AND owner = ? AND token = ?`,
      ).run(lease.runId, lease.owner, lease.token);
    });
  }

  async leaseRemainingMs(runId: string): Promise<number | null> {
    return this.use('read a lease', () => {
      const remaining = (this.leaseOf(runId)?.expires_at ?? RELEASED) - Date.now();
      return remaining > 0 ? remaining : null;
    });
  }

  // ---- event log (see sqlite-event-log.ts) ----------------------------------------------------

  async appendEvents(runId: string, events: readonly NewEventRecord[]): Promise<EventRecord[]> {
    checkAppendEvents(runId, events);
    if (events.length === 0) return [];
    return this.use('append events', (db) => this.eventLog.append(db, runId, events));
  }

  async readEvents(runId: string, afterSeq: number, limit?: number): Promise<EventRecord[]> {
    checkReadEvents(runId, afterSeq, limit);
    return this.use('read events', () => this.eventLog.read(runId, afterSeq, limit));
  }

  // ---- input inbox (see sqlite-inbox.ts) --------------------------------------------------------

  async putInput(runId: string, input: NewInputRecord): Promise<{ created: boolean; record: InputRecord }> {
    checkPutInput(runId, input);
    return this.use('store an input', (db) => this.inbox.put(db, runId, input));
  }

  async takeInputs(runId: string, consumer: string): Promise<InputRecord[]> {
    checkTakeInputs(runId, consumer);
    return this.use('take inputs', (db) => this.inbox.take(db, runId, consumer, Date.now()));
  }

  async getInput(runId: string, key: string): Promise<InputRecord | null> {
    checkInputKey(runId, key);
    return this.use('read an input', () => this.inbox.get(runId, key));
  }

  // ---- change notification: this instance only --------------------------------------------------

  subscribe(channel: string, listener: (message: ChangeMessage) => void): Promise<() => Promise<void>> {
    return this.notifier.subscribe(channel, listener);
  }

  publish(message: ChangeMessage): Promise<void> {
    return this.notifier.publish(message);
  }

  // ---- internals --------------------------------------------------------------------------

  /** Runs `fn` on a ready connection (opened and migrated on first use) and types any failure. */
  private async use<T>(action: string, fn: (db: Database.Database) => T): Promise<T> {
    try {
      return fn(this.connection());
    } catch (error) {
      throw toSavepointError(error, action, this.path ?? this.db?.name ?? 'the database');
    }
  }

  private connection(): Database.Database {
    if (this.closed) throw new BackendUnavailableError('This SqliteBackend was closed; create a new one to keep using the database.');
    if (this.db === undefined) this.db = this.open(this.path!);
    if (!this.migrated) {
      const applied = migrate(this.db, this.tables, migrations, Date.now());
      if (applied.length > 0) this.logger.info(`Migrated the SQLite database: ${applied.join(', ')}.`, { backend: 'sqlite', migrations: applied });
      this.migrated = true;
    }
    return this.db;
  }

  private open(path: string): Database.Database {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    const db = new Database(path);
    try {
      // busy_timeout first, so that switching to WAL also waits for a lock held by another process.
      db.pragma(`busy_timeout = ${this.busyTimeoutMs}`);
      // Only a new file takes it (an existing database keeps its page size): 8 KiB pages pack the typical
      // 2 KiB message blob three to a page, where 4 KiB pages hold one and leave the rest empty.
      db.pragma(`page_size = ${PAGE_SIZE}`);
      db.pragma('journal_mode = WAL');
      db.pragma(`synchronous = ${this.synchronous}`);
    } catch (error) {
      db.close();
      throw error;
    }
    return db;
  }

  /** Prepared statements are cached by SQL text; the set of distinct texts is small and fixed. */
  private stmt(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (statement === undefined) {
      statement = this.connection().prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  /** Insert-or-ignore; the caller holds the write transaction. */
  private writeBlobs(runId: string, blobs: readonly BlobRecord[]): void {
    if (blobs.length === 0) return;
    const insert = this.stmt(`INSERT OR IGNORE INTO ${this.tables.blobs} (run_id, hash, data) VALUES (?, ?, ?)`);
    for (const blob of blobs) insert.run(runId, blob.hash, blob.data);
  }

  /** Fence, compare-and-set, insert, head move; the caller holds the IMMEDIATE transaction, so nothing changes in between. */
  private writeHeader(header: HeaderRecord, options: PutHeaderOptions): void {
    this.checkFence(header.runId, options.lease);
    if (options.expectedHead !== undefined) {
      const head = this.headOf(header.runId);
      if (head !== options.expectedHead) {
        throw new CheckpointConflictError(
          `Run ${header.runId} moved: its head is ${head ?? 'empty'}, not ${options.expectedHead ?? 'empty'} as expected. Reload the run head and retry.`,
        );
      }
    }
    this.insertHeader(header);
  }

  private checkFence(runId: string, lease: Lease | undefined): void {
    const now = Date.now();
    const current = this.leaseOf(runId);
    if (lease !== undefined) {
      if (current?.owner === lease.owner && current.token === lease.token && current.expires_at > now) return;
      throw new LeaseLostError(
        `The lease of ${lease.owner} on run ${runId} (token ${lease.token}) expired or was taken over; this worker must stop writing to the run.`,
      );
    }
    if (current !== undefined && current.expires_at > now) {
      throw new RunLockedError(`Run ${runId} is leased by ${current.owner}; acquire the lease before writing to it.`);
    }
  }

  private insertHeader(header: HeaderRecord): void {
    try {
      this.stmt(
        `INSERT INTO ${this.tables.headers} (${HEADER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(toValues(header));
    } catch (error) {
      const code = sqliteCode(error);
      if (code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
        throw new CheckpointConflictError(`Checkpoint ${header.id} already exists; checkpoints are immutable, write a new id.`);
      }
      if (code === 'SQLITE_CONSTRAINT_UNIQUE') {
        throw new CheckpointConflictError(
          `Run ${header.runId} already has a checkpoint with seq ${header.seq}; another writer got there first. Reload the run head and retry.`,
        );
      }
      throw error;
    }
  }

  /** The run head is its header with the highest seq (the unique run_id, seq index answers it). */
  private headOf(runId: string): string | null {
    const id = this.stmt(`SELECT id FROM ${this.tables.headers} WHERE run_id = ? ORDER BY seq DESC LIMIT 1`).pluck().get(runId);
    return (id as string | undefined) ?? null;
  }

  private leaseOf(runId: string): LeaseRow | undefined {
    return this.stmt(`SELECT owner, token, expires_at FROM ${this.tables.leases} WHERE run_id = ?`).get(runId) as
      | LeaseRow
      | undefined;
  }

  private writeLease(lease: Lease): void {
    this.stmt(
      `INSERT INTO ${this.tables.leases} (run_id, owner, token, expires_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (run_id) DO UPDATE SET owner = excluded.owner, token = excluded.token, expires_at = excluded.expires_at`,
    ).run(lease.runId, lease.owner, lease.token, lease.expiresAt);
  }
}
