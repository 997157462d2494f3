import {
  BackendUnavailableError,
  CheckpointConflictError,
  checkAppendEvents,
  checkChangeMessage,
  checkChannel,
  checkInputKey,
  checkMaxEventsPerRun,
  checkPutInput,
  checkReadEvents,
  checkTakeInputs,
  copyChangeMessage,
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
import { CompiledQuery, Kysely, PostgresDialect, sql, type RawBuilder } from 'kysely';
import pg from 'pg';
import { blobBatches } from './blob-batches.js';
import { ChangeListener } from './change-listener.js';
import { appendEvents, readEvents } from './event-log.js';
import { headerQuery } from './header-query.js';
import { HEADER_COLUMNS, fromRow, headerValues, type HeaderRow } from './header-row.js';
import { getInput, putInput, takeInputs } from './input-inbox.js';
import { COMMIT_STATES } from './migrations/0003-commit-checkpoint-function.js';
import { migrations } from './migrations/index.js';
import { migrate } from './migrator.js';
import { constraintOf, isMissingObject, sqlState, toSavepointError } from './pg-errors.js';
import { tableNames, type TableNames } from './table-names.js';
import { binaryTextArray } from './text-array.js';
import { transaction } from './transaction.js';

interface CommonOptions {
  /** Schema holding every table (created by `setup()` when missing). Default `public`. */
  schema?: string;
  /** Prefix of every table and index name. Default `savepoint_`. Letters, digits and `_` only. */
  tablePrefix?: string;
  /**
   * Table recording applied migrations, in `schema`. Default `<tablePrefix>migrations`, so backends with
   * different prefixes in one schema each migrate their own tables.
   */
  migrationTable?: string;
  /** Newest events kept per run by `appendEvents`; older ones are deleted as new ones arrive. Default 10 000. */
  maxEventsPerRun?: number;
  /** Where the backend reports what it repaired or worked around (default: core's `consoleLogger`). */
  logger?: Logger;
}

export type PostgresBackendOptions =
  /**
   * A connection string: the backend creates (and `close()` ends) its own `pg.Pool`, with
   * `connectionTimeoutMillis` (default 5000) so an unreachable server fails fast with `BackendUnavailableError`.
   */
  | (CommonOptions & {
      connectionString: string;
      /** Extra `pg.Pool` settings (`max`, `ssl`, `idleTimeoutMillis`, `query_timeout`...). */
      poolConfig?: Omit<pg.PoolConfig, 'connectionString'>;
      /** How long getting a connection may take before `BackendUnavailableError`. Default 5000 ms. */
      connectionTimeoutMillis?: number;
      pool?: undefined;
      db?: undefined;
    })
  /**
   * A pool the caller owns: `close()` leaves it open. Give it `connectionTimeoutMillis` (pg waits forever by
   * default) and an `'error'` listener (pg emits idle connections' errors on the pool). `subscribe` holds one
   * of its connections for LISTEN until `close()`, which destroys that connection.
   */
  | (CommonOptions & { pool: pg.Pool; connectionString?: undefined; db?: undefined })
  /**
   * A Kysely instance (PostgreSQL dialect) the caller owns: `close()` leaves it open; its plugins are bypassed.
   * Kysely hides its connections' notifications, so this form cannot `subscribe` (no `notify` capability).
   */
  | (CommonOptions & { db: Kysely<any>; connectionString?: undefined; pool?: undefined });

interface LeaseRow {
  owner: string;
  token: string | number;
  /** Epoch ms of the expiry, by the database clock. */
  expires_ms: number;
}

const DEFAULT_CONNECTION_TIMEOUT_MS = 5000;
/** A prepared statement the server does not know (26000), or a name it already holds (42P05). */
const UNPREPARED_STATES = new Set(['26000', '42P05']);

const ignore = () => undefined;

/**
 * Savepoint storage on PostgreSQL: durable, queryable, shared by any number of worker processes on any hosts.
 *
 * Lease expiry is judged by the database server's clock (`clock_timestamp()`), never a worker's, so workers on
 * hosts whose clocks disagree still agree on who holds a run; `Lease.expiresAt` is that server time.
 */
export class PostgresBackend implements StorageAdapter {
  readonly name = 'postgres';
  readonly capabilities: AdapterCapabilities;
  readonly maxEventsPerRun: number;

  private readonly tables: TableNames;
  private readonly t: TableNames['sql'];
  /** The instance queries run on: the caller's (plugins bypassed) or one over our/their pool. */
  private db: Kysely<any> | undefined;
  /** The Kysely instance this backend created (over its own pool or the caller's), destroyed by `close()`. */
  private readonly created: Kysely<any> | undefined;
  /** The pool under it, when there is one (not with `{ db }`): commits run there as a prepared statement. */
  private readonly pool: GuardedPool | undefined;
  /** Cleared for good when the server lost a prepared statement (see `commit`). */
  private prepared = true;
  /** The commit function's call, its text fixed by the table names. */
  private readonly commitSql: string;
  /** The migrations in flight, shared by concurrent first calls; cleared when they fail, so the next call retries. */
  private setupPromise: Promise<void> | undefined;
  /** Set once the schema is up to date: from then on a call costs no extra round trip. */
  private ready = false;
  /** The LISTEN connection, when there is a pool to take it from (not with `{ db }`). */
  private readonly listener: ChangeListener | undefined;
  /** This instance's subscribers: the one LISTEN connection fans each notification out to them. */
  private readonly notifier = new InProcessNotifier();
  private readonly logger: Logger;

  constructor(options: PostgresBackendOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new InvalidArgumentError('PostgresBackend needs { connectionString }, { pool } (a pg.Pool) or { db } (a Kysely instance).');
    }
    const logger = (this.logger = options.logger ?? consoleLogger);
    const { schema = 'public', tablePrefix = 'savepoint_', migrationTable = `${tablePrefix}migrations` } = options;
    this.tables = tableNames(schema, tablePrefix, migrationTable);
    this.t = this.tables.sql;
    this.maxEventsPerRun = checkMaxEventsPerRun(options.maxEventsPerRun, 'PostgresBackend');
    let listenPool: pg.Pool | undefined;
    let guarded: GuardedPool | undefined;
    if (options.db !== undefined) {
      if (typeof options.db.connection !== 'function' || typeof options.db.withoutPlugins !== 'function') {
        throw new InvalidArgumentError('PostgresBackend option db must be a Kysely instance.');
      }
      this.db = options.db.withoutPlugins();
    } else if (options.pool !== undefined) {
      if (typeof options.pool.connect !== 'function') throw new InvalidArgumentError('PostgresBackend option pool must be a pg.Pool.');
      guarded = guard(options.pool, false);
      this.db = this.created = new Kysely({ dialect: new PostgresDialect({ pool: guarded }) });
      listenPool = options.pool;
    } else if (typeof options.connectionString === 'string' && options.connectionString.length > 0) {
      const timeout = options.connectionTimeoutMillis ?? DEFAULT_CONNECTION_TIMEOUT_MS;
      if (!Number.isInteger(timeout) || timeout <= 0) {
        throw new InvalidArgumentError(`PostgresBackend option connectionTimeoutMillis must be a positive integer, got ${String(timeout)}.`);
      }
      const pool = new pg.Pool({
        application_name: 'savepoint',
        ...options.poolConfig,
        connectionString: options.connectionString,
        connectionTimeoutMillis: timeout,
      });
      // pg reports a broken idle connection (server restart, pg_terminate_backend) as an 'error' event on the
      // pool, which crashes the process when nobody listens. The pool drops that connection; the next query
      // opens another.
      pool.on('error', (error) =>
        logger.warn(`PostgreSQL closed an idle connection of the pool (${error.message}); the next query opens another.`, { backend: 'postgres' }),
      );
      guarded = guard(pool, true);
      this.db = this.created = new Kysely({ dialect: new PostgresDialect({ pool: guarded }) });
      listenPool = pool;
    } else {
      throw new InvalidArgumentError(
        'PostgresBackend needs { connectionString } (e.g. postgres://user@host:5432/db), { pool } (a pg.Pool) or { db } (a Kysely instance).',
      );
    }
    const pool = listenPool;
    this.pool = guarded;
    this.commitSql = `SELECT ${this.t.commitCheckpoint.compile(this.db).sql}($1, $2, $3, $4, $5::integer, $6, $7, $8, $9::boolean,
      $10::float8, $11::float8, $12, $13::text[], $14::text[], $15::boolean, $16::text, $17::text, $18::bigint)`;
    this.listener =
      pool === undefined ? undefined : new ChangeListener(() => pool.connect(), this.tables.changes, (payload) => this.deliver(payload), this.logger);
    this.capabilities = {
      multiProcess: true,
      leases: true,
      events: true,
      inbox: true,
      ...(this.listener === undefined ? {} : { notify: 'cross-process' as const }),
    };
  }

  /**
   * Creates the schema and tables, or brings them up to date. Idempotent, and safe when processes race. Every
   * other method calls it on its first use, so calling it is optional: it surfaces a misconfiguration early.
   */
  setup(): Promise<void> {
    if (this.ready) return Promise.resolve();
    this.setupPromise ??= this.run('set up its tables', (db) => migrate(db, this.tables, migrations)).then(
      () => {
        this.ready = true;
      },
      (error: unknown) => {
        this.setupPromise = undefined;
        throw error;
      },
    );
    return this.setupPromise;
  }

  /**
   * Ends the LISTEN connection, then the pool this backend created; a pool or Kysely instance the caller passed
   * stays open.
   */
  async close(): Promise<void> {
    if (this.db === undefined) return;
    this.db = undefined;
    await this.listener?.close();
    await this.created?.destroy();
  }

  // ---- blobs ------------------------------------------------------------------------------

  async putBlobs(runId: string, blobs: readonly BlobRecord[]): Promise<void> {
    if (blobs.length === 0) return;
    const batches = blobBatches(blobs);
    // In the order given (by hash, see blobBatches): ORDER BY the ordinality keeps it without a sort.
    const insert = (db: Kysely<any>, batch: readonly BlobRecord[]) =>
      sql`INSERT INTO ${this.t.blobs} (run_id, hash, data)
          SELECT ${runId}, b.hash, b.data
          FROM unnest(${binaryTextArray(batch.map((b) => b.hash))}::text[], ${binaryTextArray(batch.map((b) => b.data))}::text[])
            WITH ORDINALITY AS b(hash, data, i)
          ORDER BY b.i
          ON CONFLICT DO NOTHING`.execute(db);
    await this.use('write blobs', async (db) => {
      if (batches.length === 1) {
        await insert(db, batches[0]!);
        return;
      }
      // A huge batch: several statements, one commit.
      await transaction(db, async (trx) => {
        for (const batch of batches) await insert(trx, batch);
      });
    });
  }

  async getBlobs(runId: string, hashes: readonly string[]): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    if (hashes.length === 0) return found;
    const { rows } = await this.use('read blobs', (db) =>
      sql<{ hash: string; data: string }>`SELECT hash, data FROM ${this.t.blobs} WHERE run_id = ${runId} AND hash = ANY(${[...hashes]}::text[])`.execute(db),
    );
    for (const row of rows) found.set(row.hash, row.data);
    return found;
  }

  async deleteBlobsExcept(runId: string, keep: ReadonlySet<string>): Promise<number> {
    const result = await this.use('delete blobs', (db) =>
      sql`DELETE FROM ${this.t.blobs} WHERE run_id = ${runId} AND NOT (hash = ANY(${[...keep]}::text[]))`.execute(db),
    );
    return Number(result.numAffectedRows ?? 0);
  }

  // ---- headers ----------------------------------------------------------------------------

  /** A checkpoint commit without blobs: the same one-statement function as `commitCheckpoint`. */
  async putHeader(header: HeaderRecord, options: PutHeaderOptions = {}): Promise<void> {
    await this.use('write a checkpoint header', (db) => this.commit(db, header, [], options));
  }

  /**
   * Blobs, fencing, compare-and-set, header and head in one statement (the function of migrations 0003 and 0005):
   * one transaction, one round trip. A batch too large for one statement goes first on its own; it is then an
   * orphan if the header fails, as with separate `putBlobs`.
   */
  async commitCheckpoint(runId: string, blobs: readonly BlobRecord[], header: HeaderRecord, options: PutHeaderOptions = {}): Promise<void> {
    const batches = blobBatches(blobs);
    let inline = batches[0]!;
    if (batches.length > 1) {
      await this.putBlobs(runId, blobs);
      inline = [];
    }
    await this.use('write a checkpoint', (db) => this.commit(db, header, inline, options));
  }
  async getHeader(id: string): Promise<HeaderRecord | null> {
    const { rows } = await this.use('read a checkpoint header', (db) =>
      sql<HeaderRow>`SELECT ${HEADER_COLUMNS} FROM ${this.t.headers} WHERE id = ${id}`.execute(db),
    );
    return rows[0] === undefined ? null : fromRow(rows[0]);
  }

  async getHead(runId: string): Promise<string | null> {
    return this.use('read a run head', (db) => this.headOf(db, runId));
  }

  async queryHeaders(query: HeaderQuery): Promise<HeaderRecord[]> {
    const { rows } = await this.use('query checkpoint headers', (db) => headerQuery(this.t.headers, query).execute(db));
    return rows.map(fromRow);
  }

  /**
   * Deletes the headers and moves each affected run's head down to its highest remaining seq (or removes it).
   * The head rows are locked first, so a header committed meanwhile by a writer is never hidden by a stale head.
   */
  async deleteHeaders(ids: readonly string[]): Promise<number> {
    if (ids.length === 0) return 0;
    const list = [...new Set(ids)];
    return this.use('delete checkpoint headers', (db) =>
      transaction(db, async (trx) => {
        const { rows: runs } = await sql<{ run_id: string }>`SELECT DISTINCT run_id FROM ${this.t.headers} WHERE id = ANY(${list}::text[])`.execute(trx);
        if (runs.length === 0) return 0;
        const runIds = runs.map((row) => row.run_id).sort();
        await sql`SELECT run_id FROM ${this.t.heads} WHERE run_id = ANY(${runIds}::text[]) ORDER BY run_id FOR UPDATE`.execute(trx);
        const deleted = await sql`DELETE FROM ${this.t.headers} WHERE id = ANY(${list}::text[])`.execute(trx);
        await sql`UPDATE ${this.t.heads} AS h SET checkpoint_id = top.id, seq = top.seq
          FROM (SELECT DISTINCT ON (run_id) run_id, id, seq FROM ${this.t.headers} WHERE run_id = ANY(${runIds}::text[]) ORDER BY run_id, seq DESC) AS top
          WHERE h.run_id = top.run_id AND h.checkpoint_id <> top.id`.execute(trx);
        await sql`DELETE FROM ${this.t.heads} AS h WHERE h.run_id = ANY(${runIds}::text[])
          AND NOT EXISTS (SELECT 1 FROM ${this.t.headers} AS x WHERE x.run_id = h.run_id)`.execute(trx);
        return Number(deleted.numAffectedRows ?? 0);
      }),
    );
  }

  // ---- leases (database clock) ------------------------------------------------------------

  async acquireLease(runId: string, owner: string, ttlMs: number): Promise<Lease | null> {
    // One statement: take a free or expired lease (the token moves forward), or extend one's own live lease
    // (the token stays); a live lease of another owner leaves the row untouched and returns nothing.
    const { rows } = await this.use('acquire a lease', (db) =>
      sql<LeaseRow>`INSERT INTO ${this.t.leases} AS l (run_id, owner, token, expires_at)
        VALUES (${runId}, ${owner}, 1, clock_timestamp() + ${ttlMs}::float8 * interval '1 millisecond')
        ON CONFLICT (run_id) DO UPDATE SET
          owner = excluded.owner,
          token = CASE WHEN l.owner = excluded.owner AND l.expires_at > clock_timestamp() THEN l.token ELSE l.token + 1 END,
          expires_at = excluded.expires_at
        WHERE l.expires_at <= clock_timestamp() OR l.owner = excluded.owner
        RETURNING owner, token, ${EXPIRES_MS}`.execute(db),
    );
    return rows[0] === undefined ? null : toLease(runId, rows[0]);
  }

  async renewLease(lease: Lease, ttlMs: number): Promise<Lease | null> {
    // Same token means nobody acquired the run since, so even a just-expired lease may be extended.
    const { rows } = await this.use('renew a lease', (db) =>
      sql<LeaseRow>`UPDATE ${this.t.leases}
        SET expires_at = clock_timestamp() + ${ttlMs}::float8 * interval '1 millisecond'
        WHERE run_id = ${lease.runId} AND owner = ${lease.owner} AND token = ${lease.token} AND expires_at <> '-infinity'
        RETURNING owner, token, ${EXPIRES_MS}`.execute(db),
    );
    return rows[0] === undefined ? null : toLease(lease.runId, rows[0]);
  }

  async releaseLease(lease: Lease): Promise<void> {
    await this.use('release a lease', (db) =>
      sql`UPDATE ${this.t.leases} SET expires_at = '-infinity'
        WHERE run_id = ${lease.runId} AND owner = ${lease.owner} AND token = ${lease.token}`.execute(db),
    );
  }

  async leaseRemainingMs(runId: string): Promise<number | null> {
    const { rows } = await this.use('read a lease', (db) =>
      sql<{ remaining_ms: number }>`SELECT (extract(epoch FROM expires_at - clock_timestamp()) * 1000)::float8 AS remaining_ms
        FROM ${this.t.leases} WHERE run_id = ${runId} AND expires_at > clock_timestamp()`.execute(db),
    );
    return rows[0] === undefined ? null : Number(rows[0].remaining_ms);
  }

  // ---- runtime bridge: event log, input inbox, change notification ----------------------------

  async appendEvents(runId: string, events: readonly NewEventRecord[]): Promise<EventRecord[]> {
    checkAppendEvents(runId, events);
    if (events.length === 0) return [];
    return this.use('append events', (db) => appendEvents(db, this.t, runId, events, this.maxEventsPerRun));
  }

  async readEvents(runId: string, afterSeq: number, limit?: number): Promise<EventRecord[]> {
    checkReadEvents(runId, afterSeq, limit);
    return this.use('read events', (db) => readEvents(db, this.t, runId, afterSeq, limit));
  }

  async putInput(runId: string, input: NewInputRecord): Promise<{ created: boolean; record: InputRecord }> {
    checkPutInput(runId, input);
    return this.use('store an input', (db) => putInput(db, this.t, runId, input));
  }

  async takeInputs(runId: string, consumer: string): Promise<InputRecord[]> {
    checkTakeInputs(runId, consumer);
    return this.use('take inputs', (db) => takeInputs(db, this.t, runId, consumer));
  }

  async getInput(runId: string, key: string): Promise<InputRecord | null> {
    checkInputKey(runId, key);
    return this.use('read an input', (db) => getInput(db, this.t, runId, key));
  }

  /**
   * Resolves once this instance's LISTEN connection is live (opened by the first call), so a publish from any
   * process after that reaches `listener`.
   */
  async subscribe(channel: string, listener: (message: ChangeMessage) => void): Promise<() => Promise<void>> {
    checkChannel(channel);
    const changes = this.listener;
    if (changes === undefined) {
      throw new InvalidArgumentError(
        'A PostgresBackend built on { db } cannot subscribe: Kysely does not expose its connections to LISTEN on. Pass { pool } or { connectionString } instead.',
      );
    }
    await this.run('listen for changes', () => changes.ready());
    return this.notifier.subscribe(channel, listener);
  }

  /** `pg_notify` on the channel of this schema and prefix, heard by every instance that subscribed, this one included. */
  async publish(message: ChangeMessage): Promise<void> {
    checkChangeMessage(message);
    const payload = JSON.stringify(copyChangeMessage(message));
    await this.run('publish a change', (db) => sql`SELECT pg_notify(${this.tables.changes}, ${payload})`.execute(db));
  }

  // ---- internals --------------------------------------------------------------------------

  /** Hands a notification to this instance's subscribers; a payload that is no change message (a stray NOTIFY) is dropped. */
  private deliver(payload: string): void {
    let message: ChangeMessage;
    try {
      message = JSON.parse(payload) as ChangeMessage;
      checkChangeMessage(message);
    } catch {
      return;
    }
    void this.notifier.publish(message);
  }

  /** Runs `fn` on the set-up instance (migrating on the first call) and types any failure. */
  private async use<T>(action: string, fn: (db: Kysely<any>) => Promise<T>): Promise<T> {
    if (!this.ready) await this.setup();
    return this.run(action, fn);
  }

  /** Runs `fn` on the open instance, set up or not, and types any failure. */
  private async run<T>(action: string, fn: (db: Kysely<any>) => Promise<T>): Promise<T> {
    const db = this.db;
    if (db === undefined) {
      throw new BackendUnavailableError('This PostgresBackend was closed; create a new one to keep using the database.');
    }
    try {
      return await fn(db);
    } catch (error) {
      if (isMissingObject(error)) {
        // Dropped after setup (a reset schema, a restore): the next call migrates again instead of failing forever.
        this.ready = false;
        this.setupPromise = undefined;
      }
      throw toSavepointError(error, action);
    }
  }

  /**
   * Calls the commit function with `blobs` sorted by hash; its custom SQLSTATEs and unique violations become the
   * contract's typed errors.
   */
  private async commit(db: Kysely<any>, header: HeaderRecord, blobs: readonly BlobRecord[], options: PutHeaderOptions): Promise<void> {
    const { expectedHead, lease } = options;
    const values = [
      ...headerValues(header),
      binaryTextArray(blobs.map((b) => b.hash)),
      binaryTextArray(blobs.map((b) => b.data)),
      expectedHead !== undefined,
      expectedHead ?? null,
      lease?.owner ?? null,
      lease?.token ?? null,
    ];
    try {
      await this.callCommit(db, values);
    } catch (error) {
      throw this.commitError(error, header, options);
    }
  }

  /**
   * With a pool, the call is a prepared statement: each connection parses and plans it once, which is a good part
   * of the server's work for a small save. A pooler in transaction mode (PgBouncer before 1.21, or without
   * `max_prepared_statements`) hands each statement to whichever server connection is free, where the statement
   * may be unknown or its name taken; the server refuses it before running anything, so the call is made again
   * unprepared, and so are all later ones of this backend.
   */
  private async callCommit(db: Kysely<any>, values: unknown[]): Promise<void> {
    if (this.pool !== undefined && this.prepared) {
      const client = await this.pool.connect();
      try {
        await client.query({ name: this.tables.commitStatement, text: this.commitSql, values });
        return;
      } catch (error) {
        if (!UNPREPARED_STATES.has(sqlState(error) ?? '')) throw error;
        this.prepared = false;
      } finally {
        // As Kysely does: the pool drops a connection that broke, and keeps one that merely answered an error.
        client.release();
      }
    }
    await db.executeQuery(CompiledQuery.raw(this.commitSql, values));
  }

  private commitError(error: unknown, header: HeaderRecord, { expectedHead, lease }: PutHeaderOptions): unknown {
    const { runId } = header;
    const { detail, hint } = error as { detail?: string; hint?: string };
    switch (sqlState(error)) {
      case COMMIT_STATES.leaseLost:
        return new LeaseLostError(
          `The lease of ${lease!.owner} on run ${runId} (token ${lease!.token}) ` +
            (!detail || Number(hint) === lease!.token ? 'expired or was released' : `was taken over by ${detail} (token ${hint})`) +
            '; this worker must stop writing to the run.',
        );
      case COMMIT_STATES.runLocked:
        return new RunLockedError(`Run ${runId} is leased by ${detail}; acquire the lease before writing to it.`);
      case COMMIT_STATES.headMoved:
        return moved(runId, detail || null, expectedHead ?? null);
      case '23505':
        return new CheckpointConflictError(
          constraintOf(error) === `${this.tables.headers}_run_seq`
            ? `Run ${runId} already has a checkpoint with seq ${header.seq}; another writer got there first. Reload the run head and retry.`
            : `Checkpoint ${header.id} already exists; checkpoints are immutable, write a new id.`,
          { cause: error },
        );
      default:
        return error;
    }
  }

  private async headOf(db: Kysely<any>, runId: string): Promise<string | null> {
    const { rows } = await sql<{ checkpoint_id: string }>`SELECT checkpoint_id FROM ${this.t.heads} WHERE run_id = ${runId}`.execute(db);
    return rows[0]?.checkpoint_id ?? null;
  }
}

interface GuardedPool {
  connect(): Promise<pg.PoolClient>;
  end(): Promise<void>;
}

/** Connections given their no-op 'error' listener, shared by every backend: one per connection, however many backends share a pool. */
const guarded = new WeakSet<pg.PoolClient>();

/**
 * The pool as Kysely sees it. Every connection checked out gets a no-op 'error' listener: pg emits a connection
 * that breaks between two statements of a transaction as an 'error' event on the client, which would crash the
 * process, while the statement that follows fails anyway (and is reported as `BackendUnavailableError`).
 * `end()` ends only a pool this backend created, so destroying Kysely never closes the caller's pool.
 */
function guard(pool: pg.Pool, owned: boolean): GuardedPool {
  return {
    async connect() {
      const client = await pool.connect();
      if (!guarded.has(client)) {
        guarded.add(client);
        client.on('error', ignore);
      }
      return client;
    },
    end: () => (owned ? pool.end() : Promise.resolve()),
  };
}

/** The expiry as epoch milliseconds by the server clock (float8 comes back as a JS number). */
const EXPIRES_MS: RawBuilder<unknown> = sql`floor(extract(epoch FROM expires_at) * 1000)::float8 AS expires_ms`;

function toLease(runId: string, row: LeaseRow): Lease {
  return { runId, owner: row.owner, token: Number(row.token), expiresAt: row.expires_ms };
}

function moved(runId: string, head: string | null, expected: string | null): CheckpointConflictError {
  return new CheckpointConflictError(
    `Run ${runId} moved: its head is ${head ?? 'empty'}, not ${expected ?? 'empty'} as expected. Reload the run head and retry.`,
  );
}
