import {
  CheckpointConflictError,
  checkAppendEvents,
  checkChangeMessage,
  checkChannel,
  checkInputKey,
  checkMaxEventsPerRun,
  checkPutInput,
  checkReadEvents,
  checkTakeInputs,
  compareInputs,
  copyChangeMessage,
  InvalidArgumentError,
  LeaseLostError,
  matchesHeaderQuery,
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
import { ChangeSubscriber } from './change-subscriber.js';
import { eventArguments, fromStreamEntry, type StreamEntry } from './event-log.js';
import { decodeHeader, encodeHeader } from './header-json.js';
import { planQuery } from './header-query.js';
import { decodeInput, encodeInput } from './input-inbox.js';
import { indexMember, KeySpace, parseIndexMember } from './key-space.js';
import { createRedisClient, type RedisClientLike, type RedisPipelineLike } from './redis-client.js';
import { RedisConnection } from './redis-connection.js';
import { describeUrl } from './redis-errors.js';

interface CommonOptions {
  /** Prefix of every key. Default `savepoint:`. No `{` or `}`. */
  prefix?: string;
  /**
   * Everything a run owns expires this many seconds after the run's last write (header, blobs, lease call,
   * events, inputs), except while the run's head waits for input: then it never expires. Default: nothing expires.
   */
  ttlSeconds?: number;
  /** Newest events kept per run by `appendEvents` (its stream is trimmed as new ones arrive). Default 10 000. */
  maxEventsPerRun?: number;
  /** How long a call waits for a connection that is (re)connecting before `BackendUnavailableError`. Default 5000. */
  readyTimeoutMs?: number;
  /** Where the backend reports what it repaired or worked around (default: core's `consoleLogger`). */
  logger?: Logger;
}

export type RedisBackendOptions =
  /** A Redis URL (`redis://`, `rediss://`): the backend creates, owns and quits its client. */
  | (CommonOptions & { url: string; client?: undefined })
  /** An ioredis client you own: the backend never quits it. */
  | (CommonOptions & { client: RedisClientLike; url?: undefined });

// Candidates read per round trip when filters the index does not answer may drop some.
const PAGE = 500;
/**
 * Blobs this long (UTF-16 units) or longer go to Redis as commands of their own rather than script arguments:
 * Lua hashes every byte of every string it receives (about 12 instructions a byte), so a megabyte in a script's
 * arguments cost milliseconds of server time, while a command of its own costs the client some 15 µs.
 */
const AHEAD_OF_SCRIPT = 8 * 1024;

interface Page {
  headers: HeaderRecord[];
  /** The source has nothing after this page. */
  done: boolean;
}

type PageReader = (size: number) => Promise<Page>;

/**
 * Savepoint storage on Redis 7 (standalone): fast, shared by many worker processes, with optional TTL.
 * Every write is one Lua script, so fencing, compare-and-set, the header, the head and the indexes change
 * together or not at all. See the README for the key layout, the TTL rule and Cluster.
 */
export class RedisBackend implements StorageAdapter {
  readonly name = 'redis';
  readonly capabilities: AdapterCapabilities;
  readonly maxEventsPerRun: number;

  private readonly keys: KeySpace;
  private readonly connection: RedisConnection;
  /** Pub/sub on a duplicate of the client, made on the first `subscribe`. */
  private readonly subscriber: ChangeSubscriber;
  /** 0 when nothing expires. */
  private readonly ttlMs: number;

  constructor(options: RedisBackendOptions) {
    const { prefix = 'savepoint:', ttlSeconds, readyTimeoutMs = 5_000, maxEventsPerRun } = options ?? {};
    this.keys = new KeySpace(prefix);
    if (ttlSeconds !== undefined && !(typeof ttlSeconds === 'number' && ttlSeconds > 0 && Number.isFinite(ttlSeconds))) {
      throw new InvalidArgumentError(`RedisBackend option ttlSeconds must be a positive number of seconds, got ${String(ttlSeconds)}.`);
    }
    this.ttlMs = ttlSeconds === undefined ? 0 : Math.ceil(ttlSeconds * 1000);
    if (!Number.isInteger(readyTimeoutMs) || readyTimeoutMs <= 0) {
      throw new InvalidArgumentError(`RedisBackend option readyTimeoutMs must be a positive integer, got ${String(readyTimeoutMs)}.`);
    }
    this.maxEventsPerRun = checkMaxEventsPerRun(maxEventsPerRun, 'RedisBackend');
    this.capabilities = { multiProcess: true, leases: true, ttl: this.ttlMs > 0, events: true, inbox: true, notify: 'cross-process' };
    if (options?.client !== undefined) {
      assertUsableClient(options.client);
      this.connection = new RedisConnection(options.client, false, 'your Redis client', readyTimeoutMs);
    } else if (typeof options?.url === 'string' && options.url.length > 0) {
      this.connection = new RedisConnection(createRedisClient(options.url), true, describeUrl(options.url), readyTimeoutMs);
    } else {
      throw new InvalidArgumentError("RedisBackend needs { url } (e.g. 'redis://127.0.0.1:6379/0') or { client } (an ioredis client).");
    }
    this.subscriber = new ChangeSubscriber(this.connection, options.logger ?? consoleLogger);
  }

  /** The client in use: yours, or the one created from the URL (quit by `close()`). */
  get client(): RedisClientLike {
    return this.connection.client;
  }

  /** Connects (a lazy client too), so a missing server shows up here rather than at the first checkpoint. */
  async setup(): Promise<void> {
    await this.connection.use('connect', async () => undefined);
  }

  /**
   * Quits the pub/sub client it duplicated (if `subscribe` made one) and the client it created from a URL; a
   * client you passed in stays open.
   */
  async close(): Promise<void> {
    await this.subscriber.close();
    await this.connection.close();
  }

  // ---- blobs ------------------------------------------------------------------------------

  async putBlobs(runId: string, blobs: readonly BlobRecord[]): Promise<void> {
    if (blobs.length === 0) return;
    const pairs = blobs.flatMap((blob) => [blob.hash, blob.data]);
    await this.connection.use('write blobs', () =>
      this.connection.script('savepointPutBlobs', this.keys.runKeyList(runId), [this.ttlMs, ...pairs]),
    );
  }

  async getBlobs(runId: string, hashes: readonly string[]): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    if (hashes.length === 0) return found;
    const values = await this.connection.use(
      'read blobs',
      (client) => client.call('HMGET', this.keys.run(runId).blobs, ...hashes) as Promise<Array<string | null>>,
    );
    hashes.forEach((hash, i) => {
      const data = values[i];
      if (typeof data === 'string') found.set(hash, data);
    });
    return found;
  }

  async deleteBlobsExcept(runId: string, keep: ReadonlySet<string>): Promise<number> {
    const deleted = await this.connection.use('delete blobs', () =>
      this.connection.script('savepointDeleteBlobsExcept', this.keys.runKeyList(runId), [this.ttlMs, ...keep]),
    );
    return Number(deleted);
  }

  // ---- headers ----------------------------------------------------------------------------

  async putHeader(header: HeaderRecord, options: PutHeaderOptions = {}): Promise<void> {
    await this.commit('write a checkpoint header', header, [], options);
  }

  /**
   * `putBlobs` then `putHeader` in one round trip. The header's checks (fencing, compare-and-set, id) run before
   * the script writes anything, and its blobs are written only once the header is accepted. Blobs of 8 KB or more
   * are `HSETNX`ed ahead of the script, in the same pipeline: a refused commit leaves those as orphans, which
   * garbage collection removes, as after a crash between blobs and header.
   */
  async commitCheckpoint(runId: string, blobs: readonly BlobRecord[], header: HeaderRecord, options: PutHeaderOptions = {}): Promise<void> {
    if (runId !== header.runId) {
      throw new InvalidArgumentError(`commitCheckpoint got runId ${runId} for a header of run ${header.runId}; they must be the same run.`);
    }
    await this.commit('write a checkpoint', header, blobs, options);
  }

  /**
   * The header script (the small blobs after it when there are any, the large ones ahead of it), with its
   * refusals mapped to typed errors.
   */
  private async commit(action: string, header: HeaderRecord, blobs: readonly BlobRecord[], options: PutHeaderOptions): Promise<void> {
    const { expectedHead, lease } = options;
    const ahead = blobs.filter((blob) => blob.data.length >= AHEAD_OF_SCRIPT);
    const inline = ahead.length === 0 ? blobs : blobs.filter((blob) => blob.data.length < AHEAD_OF_SCRIPT);
    const name = inline.length === 0 ? 'savepointPutHeader' : 'savepointCommitCheckpoint';
    const keys = this.keys.headerKeys(header);
    const args = [
      header.id,
      header.runId,
      header.seq,
      encodeHeader(header),
      header.pendingInput ? '1' : '0',
      header.tenantId === null ? '0' : '1',
      expectedHead === undefined ? '' : `=${expectedHead ?? ''}`,
      lease?.owner ?? '',
      lease === undefined ? '' : String(lease.token),
      this.ttlMs,
      ahead.length > 0 ? '1' : '0',
      ...inline.flatMap((blob) => [blob.hash, blob.data]),
    ];
    const reply = await this.connection.use(action, async (client) => {
      if (ahead.length === 0) return this.connection.script(name, keys, args);
      const pipeline = client.pipeline();
      const blobsKey = this.keys.run(header.runId).blobs;
      for (const blob of ahead) pipeline.call('HSETNX', blobsKey, blob.hash, blob.data);
      RedisConnection.scriptIn(pipeline, name, keys, args);
      return (await execPipeline(pipeline)).at(-1);
    });
    const [code, detail] = reply as [string, string];
    switch (code) {
      case 'OK':
        return;
      case 'LEASE_LOST':
        throw new LeaseLostError(
          `The lease of ${lease!.owner} on run ${header.runId} (token ${lease!.token}) expired or was taken over; this worker must stop writing to the run.`,
        );
      case 'RUN_LOCKED':
        throw new RunLockedError(`Run ${header.runId} is leased by ${detail}; acquire the lease before writing to it.`);
      case 'HEAD_MOVED':
        throw new CheckpointConflictError(
          `Run ${header.runId} moved: its head is ${detail || 'empty'}, not ${expectedHead ?? 'empty'} as expected. Reload the run head and retry.`,
        );
      default:
        throw new CheckpointConflictError(
          `Checkpoint ${header.id} already exists (in run ${detail}); checkpoints are immutable, write a new id.`,
        );
    }
  }

  async getHeader(id: string): Promise<HeaderRecord | null> {
    const [before, after] = this.keys.headersKeyParts();
    const json = await this.connection.use('read a checkpoint header', () =>
      this.connection.script('savepointGetHeader', [this.keys.ids], [id, before, after]),
    );
    return typeof json === 'string' ? decodeHeader(json, `checkpoint ${id}`) : null;
  }

  async getHead(runId: string): Promise<string | null> {
    const top = await this.connection.use(
      'read a run head',
      (client) => client.call('ZRANGE', this.keys.run(runId).seq, 0, 0, 'REV') as Promise<string[]>,
    );
    return top[0] ?? null;
  }

  /**
   * Reads candidates from the most selective index (a run's seq index, or the smallest of the flow, status,
   * tenant and pending-input indexes), then checks every filter on the headers. Cost: one round trip per page
   * of candidates plus one for their headers (and one to compare index sizes when several apply).
   */
  async queryHeaders(query: HeaderQuery): Promise<HeaderRecord[]> {
    const limit = query.limit ?? Number.POSITIVE_INFINITY;
    if (query.statuses?.length === 0 || !(limit > 0)) return [];
    return this.connection.use('query checkpoint headers', async (client) => {
      const plan = planQuery(this.keys, query);
      const read =
        plan.kind === 'run' ? this.runPages(client, plan.runId, query) : this.indexPages(client, await smallest(client, plan.keys), query);
      const out: HeaderRecord[] = [];
      for (;;) {
        const remaining = limit - out.length;
        const page = await read(plan.exact ? Math.min(remaining, PAGE) : PAGE);
        for (const header of page.headers) {
          if (out.length < limit && matchesHeaderQuery(header, query)) out.push(header);
        }
        if (page.done || out.length >= limit) return out;
      }
    });
  }

  async deleteHeaders(ids: readonly string[]): Promise<number> {
    const unique = [...new Set(ids)];
    if (unique.length === 0) return 0;
    return this.connection.use('delete checkpoint headers', async (client) => {
      const runIds = (await client.call('HMGET', this.keys.ids, ...unique)) as Array<string | null>;
      const found = unique.flatMap((id, i) => (runIds[i] ? [{ id, runId: runIds[i]! }] : []));
      if (found.length === 0) return 0;
      const reads = client.pipeline();
      for (const { id, runId } of found) reads.call('HGET', this.keys.run(runId).headers, id);
      const headers = (await execPipeline(reads)).flatMap((json, i) =>
        typeof json === 'string' ? [decodeHeader(json, `checkpoint ${found[i]!.id}`)] : [],
      );
      if (headers.length === 0) return 0;
      const deletes = client.pipeline();
      for (const header of headers) {
        RedisConnection.scriptIn(deletes, 'savepointDeleteHeader', this.keys.headerDeleteKeys(header), [
          header.id,
          indexMember(header.id, header.runId),
          this.ttlMs,
        ]);
      }
      return (await execPipeline(deletes)).reduce<number>((sum, deleted) => sum + Number(deleted), 0);
    });
  }

  // ---- leases: expiry by the Redis server's clock, so workers on different hosts agree ----------

  async acquireLease(runId: string, owner: string, ttlMs: number): Promise<Lease | null> {
    const reply = await this.connection.use('acquire a lease', () =>
      this.connection.script('savepointAcquireLease', this.keys.runKeyList(runId), [owner, ttlMs, this.ttlMs]),
    );
    if (!Array.isArray(reply)) return null;
    return { runId, owner, token: Number(reply[0]), expiresAt: Number(reply[1]) };
  }

  async renewLease(lease: Lease, ttlMs: number): Promise<Lease | null> {
    const expiresAt = await this.connection.use('renew a lease', () =>
      this.connection.script('savepointRenewLease', this.keys.runKeyList(lease.runId), [lease.owner, String(lease.token), ttlMs, this.ttlMs]),
    );
    return expiresAt === null ? null : { ...lease, expiresAt: Number(expiresAt) };
  }

  async releaseLease(lease: Lease): Promise<void> {
    await this.connection.use('release a lease', () =>
      this.connection.script('savepointReleaseLease', this.keys.runKeyList(lease.runId), [lease.owner, String(lease.token), this.ttlMs]),
    );
  }

  async leaseRemainingMs(runId: string): Promise<number | null> {
    const remaining = await this.connection.use('read a lease', () =>
      this.connection.script('savepointLeaseRemaining', [this.keys.run(runId).lease], []),
    );
    return remaining === null ? null : Number(remaining);
  }

  // ---- runtime bridge: event log, input inbox, change notification ------------------------------

  async appendEvents(runId: string, events: readonly NewEventRecord[]): Promise<EventRecord[]> {
    checkAppendEvents(runId, events);
    if (events.length === 0) return [];
    const newest = await this.connection.use('append events', () =>
      this.connection.script('savepointAppendEvents', this.keys.runKeyList(runId), [this.ttlMs, this.maxEventsPerRun, ...eventArguments(events)]),
    );
    const first = Number(newest) - events.length + 1;
    return events.map((event, i) => ({ runId, seq: first + i, type: event.type, data: event.data, ts: event.ts }));
  }

  async readEvents(runId: string, afterSeq: number, limit?: number): Promise<EventRecord[]> {
    checkReadEvents(runId, afterSeq, limit);
    if (limit === 0) return [];
    const count = limit === undefined ? [] : ['COUNT', limit];
    const entries = await this.connection.use(
      'read events',
      (client) => client.call('XRANGE', this.keys.run(runId).events, `${afterSeq + 1}-0`, '+', ...count) as Promise<StreamEntry[]>,
    );
    return entries.map((entry) => fromStreamEntry(runId, entry));
  }

  async putInput(runId: string, input: NewInputRecord): Promise<{ created: boolean; record: InputRecord }> {
    checkPutInput(runId, input);
    const [created, json, marker] = (await this.connection.use('store an input', () =>
      this.connection.script('savepointPutInput', this.keys.runKeyList(runId), [this.ttlMs, input.key, encodeInput(input)]),
    )) as [number, string, string | null];
    return { created: created === 1, record: decodeInput(runId, input.key, json, marker) };
  }

  async takeInputs(runId: string, consumer: string): Promise<InputRecord[]> {
    checkTakeInputs(runId, consumer);
    const [consumedAt, ...pairs] = (await this.connection.use('take inputs', () =>
      this.connection.script('savepointTakeInputs', this.keys.runKeyList(runId), [this.ttlMs, consumer]),
    )) as [number, ...string[]];
    const taken: InputRecord[] = [];
    for (let i = 0; i < pairs.length; i += 2) taken.push(decodeInput(runId, pairs[i]!, pairs[i + 1]!, `${consumedAt} ${consumer}`));
    return taken.sort(compareInputs);
  }

  async getInput(runId: string, key: string): Promise<InputRecord | null> {
    checkInputKey(runId, key);
    const run = this.keys.run(runId);
    const [json, marker] = (await this.connection.use('read an input', (client) => {
      // Inputs and markers are only ever added, an input before its marker: read in this order, a pair is consistent.
      const reads = client.pipeline();
      reads.call('HGET', run.inputs, key);
      reads.call('HGET', run.consumed, key);
      return execPipeline(reads);
    })) as [string | null, string | null];
    return json === null ? null : decodeInput(runId, key, json, marker);
  }

  /**
   * Subscribes, on the backend's pub/sub client, to `<prefix>changes:<runId>` (or `<prefix>changes:*` for
   * every run); resolves once Redis confirmed it.
   */
  async subscribe(channel: string, listener: (message: ChangeMessage) => void): Promise<() => Promise<void>> {
    checkChannel(channel);
    return this.subscriber.subscribe(this.keys.changes(channel), listener);
  }

  /** PUBLISH to the run's channel and to `*`'s, in one round trip, on the backend's command client. */
  async publish(message: ChangeMessage): Promise<void> {
    checkChangeMessage(message);
    const payload = JSON.stringify(copyChangeMessage(message));
    await this.connection.use('publish a change', (client) => {
      const publishes = client.pipeline();
      publishes.call('PUBLISH', this.keys.changes(message.runId), payload);
      publishes.call('PUBLISH', this.keys.changes('*'), payload);
      return execPipeline(publishes);
    });
  }

  // ---- query sources ----------------------------------------------------------------------

  /** A run's headers in seq order, paged by offset (several headers may share a seq). */
  private runPages(client: RedisClientLike, runId: string, query: HeaderQuery): PageReader {
    const run = this.keys.run(runId);
    const bound = query.beforeSeq === undefined ? '+inf' : `(${query.beforeSeq}`;
    const range = query.order === 'asc' ? ['-inf', bound, 'BYSCORE'] : [bound, '-inf', 'BYSCORE', 'REV'];
    let offset = 0;
    return async (size) => {
      const ids = (await client.call('ZRANGE', run.seq, ...range, 'LIMIT', offset, size)) as string[];
      offset += ids.length;
      const jsons = ids.length === 0 ? [] : ((await client.call('HMGET', run.headers, ...ids)) as Array<string | null>);
      const headers = jsons.flatMap((json, i) => (typeof json === 'string' ? [decodeHeader(json, `checkpoint ${ids[i]}`)] : []));
      return { headers, done: ids.length < size };
    };
  }

  /**
   * A cross-run index in id order, paged by a lexicographic cursor. Entries whose run expired (TTL) are
   * removed from this index as they are met.
   */
  private indexPages(client: RedisClientLike, key: string, query: HeaderQuery): PageReader {
    const desc = query.order !== 'asc';
    const end = query.beforeId === undefined ? '+' : `(${query.beforeId}`;
    let cursor = desc ? end : '-';
    return async (size) => {
      const range = desc ? [cursor, '-', 'BYLEX', 'REV'] : [cursor, end, 'BYLEX'];
      const members = (await client.call('ZRANGE', key, ...range, 'LIMIT', 0, size)) as string[];
      if (members.length === 0) return { headers: [], done: true };
      cursor = `(${members[members.length - 1]}`;
      const entries = members.map(parseIndexMember);
      const reads = client.pipeline();
      for (const { id, runId } of entries) reads.call('HGET', this.keys.run(runId).headers, id);
      const jsons = await execPipeline(reads);
      const headers: HeaderRecord[] = [];
      const forget = client.pipeline();
      let expired = 0;
      jsons.forEach((json, i) => {
        const { id, runId } = entries[i]!;
        if (typeof json === 'string') {
          headers.push(decodeHeader(json, `checkpoint ${id}`));
        } else {
          RedisConnection.scriptIn(forget, 'savepointForgetEntry', [key, this.keys.ids], [members[i]!, id, runId]);
          expired += 1;
        }
      });
      if (expired > 0) await execPipeline(forget);
      return { headers, done: members.length < size };
    };
  }
}

function assertUsableClient(client: RedisClientLike): void {
  if (typeof client?.defineCommand !== 'function' || typeof client.call !== 'function') {
    throw new InvalidArgumentError('RedisBackend option client must be an ioredis client (new Redis(...) from the ioredis package).');
  }
  if (client.isCluster === true) {
    throw new InvalidArgumentError(
      'RedisBackend supports standalone Redis (or a primary with replicas via Sentinel), not a Cluster client: its cross-run indexes must live on one node. See the README section on Redis Cluster.',
    );
  }
  if (client.options?.keyPrefix) {
    throw new InvalidArgumentError(
      `The ioredis client has keyPrefix ${JSON.stringify(client.options.keyPrefix)}, which the backend's scripts cannot see; use a client without keyPrefix and pass RedisBackend's prefix option instead.`,
    );
  }
}

/** The smallest of several indexes (ZCARD is O(1)): reading it means the fewest candidates to filter. */
async function smallest(client: RedisClientLike, keys: string[]): Promise<string> {
  if (keys.length === 1) return keys[0]!;
  const pipeline = client.pipeline();
  for (const key of keys) pipeline.call('ZCARD', key);
  const sizes = (await execPipeline(pipeline)).map(Number);
  return keys[sizes.indexOf(Math.min(...sizes))]!;
}

/** Runs a pipeline and returns its replies; the first failed command fails the whole call. */
async function execPipeline(pipeline: RedisPipelineLike): Promise<unknown[]> {
  const results = (await pipeline.exec()) ?? [];
  return results.map(([error, result]) => {
    if (error) throw error;
    return result;
  });
}
