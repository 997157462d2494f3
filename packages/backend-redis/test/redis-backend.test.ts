import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import {
  CheckpointConflictError,
  CheckpointStore,
  CorruptCheckpointError,
  InvalidArgumentError,
  silentLogger,
  uuidv7,
  type ChangeMessage,
  type HeaderRecord,
} from '@savepoint/core';
import { makeCheckpoint, makeHeader } from '@savepoint/conformance';
import { RedisBackend, type RedisClientLike } from '../src/index.js';
import { REDIS_URL, describeRedis, keysUnder, removeKeys, testClient, uniquePrefix } from './support/redis-server.js';

const admin = testClient();
const used: string[] = [];
const open: RedisBackend[] = [];

function backend(options: Partial<ConstructorParameters<typeof RedisBackend>[0]> = {}): { backend: RedisBackend; prefix: string } {
  const prefix = options.prefix ?? uniquePrefix('backend');
  used.push(prefix);
  const created = new RedisBackend({ url: REDIS_URL, ...options, prefix } as ConstructorParameters<typeof RedisBackend>[0]);
  open.push(created);
  return { backend: created, prefix };
}

afterEach(async () => {
  for (const created of open.splice(0)) await created.close();
  for (const prefix of used.splice(0)) await removeKeys(admin, prefix);
});

afterAll(async () => {
  await admin.quit();
});

describe('RedisBackend options', () => {
  it('needs a URL or a client', () => {
    expect(() => new RedisBackend({} as never)).toThrow(InvalidArgumentError);
    expect(() => new RedisBackend({ url: '' })).toThrow(/needs \{ url \}/);
    expect(() => new RedisBackend({ client: {} as RedisClientLike })).toThrow(/must be an ioredis client/);
  });

  it('refuses options it cannot honour, saying what to use instead', () => {
    const client = testClient();
    expect(() => new RedisBackend({ client, prefix: '{app}:' })).toThrow(/without '\{' or '\}'/);
    expect(() => new RedisBackend({ client, prefix: '' })).toThrow(InvalidArgumentError);
    expect(() => new RedisBackend({ client, ttlSeconds: 0 })).toThrow(/ttlSeconds must be a positive number/);
    expect(() => new RedisBackend({ client, ttlSeconds: Number.NaN })).toThrow(InvalidArgumentError);
    expect(() => new RedisBackend({ client, readyTimeoutMs: 1.5 })).toThrow(/readyTimeoutMs/);
    const prefixed = testClient({ keyPrefix: 'mine:' });
    expect(() => new RedisBackend({ client: prefixed })).toThrow(/keyPrefix "mine:".*prefix option instead/);
    const clusterLike = Object.assign(testClient(), { isCluster: true });
    expect(() => new RedisBackend({ client: clusterLike })).toThrow(/not a Cluster client/);
    for (const created of [client, prefixed, clusterLike]) created.disconnect();
  });

  it('declares the ttl capability only when records expire', () => {
    const runtime = { events: true, inbox: true, notify: 'cross-process' };
    expect(backend().backend.capabilities).toEqual({ multiProcess: true, leases: true, ttl: false, ...runtime });
    expect(backend({ ttlSeconds: 60 }).backend.capabilities).toEqual({ multiProcess: true, leases: true, ttl: true, ...runtime });
  });
});

describeRedis('RedisBackend on Redis', () => {
  it("keeps a run's keys under its {runId} hash tag and the cross-run indexes under idx:", async () => {
    const { backend: redis, prefix } = backend();
    const store = new CheckpointStore(redis);
    const lease = await store.acquireLease('run-1', 'worker-a', 60_000);
    const checkpoint = makeCheckpoint({ status: 'pending_input', tenantId: 'acme' });
    await store.save(checkpoint, { lease });
    expect(await keysUnder(admin, prefix)).toEqual([
      'idx:all',
      'idx:flow:flow-a',
      'idx:ids',
      'idx:pending',
      'idx:tenant:acme',
      '{run-1}:blobs',
      '{run-1}:headers',
      '{run-1}:lease',
      '{run-1}:seq',
    ]);
    expect(await admin.zrange(`${prefix}idx:flow:flow-a`, '0', '-1')).toEqual([`${checkpoint.id} run-1`]);
    expect(await admin.hget(`${prefix}idx:ids`, checkpoint.id)).toBe('run-1');
    expect(await admin.hgetall(`${prefix}{run-1}:lease`)).toEqual({ owner: 'worker-a', token: '1', expiresAt: String(lease.expiresAt) });
  });

  it('writes only the indexes a query reads: no status index, and no tenant index for a header without tenant', async () => {
    const { backend: redis, prefix } = backend();
    await new CheckpointStore(redis).save(makeCheckpoint({ status: 'completed' }));
    expect((await keysUnder(admin, prefix)).filter((key) => key.startsWith('idx:'))).toEqual(['idx:all', 'idx:flow:flow-a', 'idx:ids']);
  });

  it('queries and deletes what an older release wrote, with its status and no-tenant indexes', async () => {
    const { backend: redis, prefix } = backend();
    const old = makeHeader({ id: `0190${uuidv7().slice(4)}`, runId: 'run-old', flowId: 'flow-a', status: 'failed', seq: 0 });
    // The older layout, as its header-write script left it: the header, the run order, the id map, five indexes.
    const member = `${old.id} run-old`;
    await admin.hset(`${prefix}{run-old}:headers`, old.id, JSON.stringify(old));
    await admin.zadd(`${prefix}{run-old}:seq`, 0, old.id);
    await admin.hset(`${prefix}idx:ids`, old.id, 'run-old');
    for (const index of ['all', 'flow:flow-a', 'status:failed', 'no-tenant']) await admin.zadd(`${prefix}idx:${index}`, 0, member);
    const fresh = makeHeader({ runId: 'run-new', flowId: 'flow-a', status: 'failed', seq: 0 });
    await redis.putHeader(fresh, { expectedHead: null });

    expect(await redis.queryHeaders({ statuses: ['failed'], order: 'asc' })).toEqual([old, fresh]);
    expect(await redis.queryHeaders({ tenantId: null, order: 'asc' })).toEqual([old, fresh]);
    expect(await redis.queryHeaders({ flowId: 'flow-a', statuses: ['failed'], tenantId: null, limit: 1 })).toEqual([fresh]);
    expect(await redis.getHeader(old.id)).toEqual(old);
    expect(await redis.deleteHeaders([old.id, fresh.id])).toBe(2);
    expect(await keysUnder(admin, prefix)).toEqual([]);
  });

  it('deleting every header of a run removes it from every index and the id map', async () => {
    const { backend: redis, prefix } = backend();
    const store = new CheckpointStore(redis);
    for (const seq of [0, 1, 2]) {
      await store.save(makeCheckpoint({ seq, tenantId: seq === 1 ? 'acme' : undefined, status: seq === 2 ? 'pending_input' : 'active' }));
    }
    await store.deleteRun('run-1');
    expect(await keysUnder(admin, prefix)).toEqual([]);
    expect(await redis.deleteHeaders([uuidv7()])).toBe(0);
  });

  it('takes lease expiry from the Redis server clock', async () => {
    const { backend: redis } = backend();
    const before = await serverMs();
    const lease = (await redis.acquireLease('run-1', 'worker-a', 10_000))!;
    const after = await serverMs();
    expect(lease.expiresAt).toBeGreaterThanOrEqual(before + 10_000);
    expect(lease.expiresAt).toBeLessThanOrEqual(after + 10_000);
    const renewed = (await redis.renewLease(lease, 20_000))!;
    expect(renewed.expiresAt).toBeGreaterThanOrEqual(after + 20_000);
  });

  it('compare-and-set is atomic across clients: of two backends racing on one head, exactly one wins each round', async () => {
    const prefix = uniquePrefix('race');
    const first = backend({ prefix }).backend;
    const second = backend({ prefix }).backend;
    let head: string | null = null;
    for (let seq = 0; seq < 25; seq += 1) {
      const contenders = [first, second].map((redis) => ({ redis, header: makeHeader({ seq, parentCheckpointId: head }) }));
      const results = await Promise.allSettled(contenders.map(({ redis, header }) => redis.putHeader(header, { expectedHead: head })));
      const winners = contenders.filter((_, i) => results[i]!.status === 'fulfilled');
      expect(winners).toHaveLength(1);
      const loser = results.find((result) => result.status === 'rejected') as PromiseRejectedResult;
      expect(CheckpointConflictError.isInstance(loser.reason)).toBe(true);
      head = winners[0]!.header.id;
      expect(await second.getHead('run-1')).toBe(head);
    }
    expect(await first.queryHeaders({ runId: 'run-1' })).toHaveLength(25);
  });

  it('pages through indexes when filters the index cannot answer drop most candidates', async () => {
    const { backend: redis } = backend();
    const headers: HeaderRecord[] = [];
    for (let i = 0; i < 1100; i += 1) {
      headers.push(
        makeHeader({
          runId: `run-${i % 3}`,
          seq: Math.floor(i / 3),
          status: i % 100 === 7 ? 'failed' : i % 100 === 8 ? 'completed' : 'active',
          tenantId: i % 2 === 0 ? 'acme' : null,
          createdAt: i,
        }),
      );
    }
    for (let i = 0; i < headers.length; i += 100) await Promise.all(headers.slice(i, i + 100).map((h) => redis.putHeader(h)));
    const ids = (rows: HeaderRecord[]) => rows.map((row) => row.id);
    const expected = (keep: (h: HeaderRecord) => boolean) => ids(headers.filter(keep).reverse());

    const finished = await redis.queryHeaders({ flowId: 'flow-a', statuses: ['failed', 'completed'] });
    expect(ids(finished)).toEqual(expected((h) => h.status !== 'active'));
    expect(ids(await redis.queryHeaders({ statuses: ['failed'], tenantId: null, order: 'asc' }))).toEqual(
      expected((h) => h.status === 'failed' && h.tenantId === null).reverse(),
    );
    expect(ids(await redis.queryHeaders({ createdBefore: 10, beforeSeq: 2 }))).toEqual(expected((h) => h.createdAt < 10 && h.seq < 2));
    expect(ids(await redis.queryHeaders({ runId: 'run-1', tenantId: 'acme', limit: 3 }))).toEqual(
      expected((h) => h.runId === 'run-1' && h.tenantId === 'acme').slice(0, 3),
    );
    expect(await redis.queryHeaders({ runId: 'run-2', pendingInput: false })).toHaveLength(366);
    expect(await redis.queryHeaders({ flowId: 'flow-a', limit: 0 })).toEqual([]);
    expect(await redis.queryHeaders({ statuses: [] })).toEqual([]);
  });

  it('reports a header that is not valid JSON as CorruptCheckpointError', async () => {
    const { backend: redis, prefix } = backend();
    const header = makeHeader();
    await redis.putHeader(header);
    await admin.hset(`${prefix}{run-1}:headers`, header.id, '{"torn');
    await expect(redis.getHeader(header.id)).rejects.toThrow(CorruptCheckpointError);
    await expect(redis.queryHeaders({ runId: 'run-1' })).rejects.toThrow(/not valid JSON/);
  });

  it('with a client the caller owns: connects a lazy one, never quits it; close() quits only its own', async () => {
    const client = testClient();
    const borrowed = new RedisBackend({ client, prefix: uniquePrefix('borrowed') });
    expect(client.status).toBe('wait');
    await borrowed.setup();
    expect(client.status).toBe('ready');
    expect(borrowed.client).toBe(client);
    await borrowed.close();
    await borrowed.close();
    expect(client.status).toBe('ready');
    expect(await client.ping()).toBe('PONG');
    await expect(borrowed.getHead('run-1')).rejects.toThrow(/was closed/);

    const own = new RedisBackend({ url: REDIS_URL });
    await own.setup();
    expect(own.client.status).toBe('ready');
    await own.close();
    expect(own.client.status).toBe('end');
    await client.quit();
  });
});

describeRedis('RedisBackend logger', () => {
  it('reports a change listener that threw to the logger it is given, and still calls the others', async () => {
    const logger = { ...silentLogger, warn: jest.fn() };
    const { backend: created } = backend({ logger });
    const heard: ChangeMessage[] = [];
    await created.subscribe('run-1', () => {
      throw new Error('listener bug');
    });
    await created.subscribe('run-1', (message) => heard.push(message));
    await created.publish({ runId: 'run-1', kind: 'input' });
    for (let i = 0; i < 500 && heard.length === 0; i += 1) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(heard).toEqual([{ runId: 'run-1', kind: 'input' }]);
    expect(logger.warn).toHaveBeenCalledWith(expect.stringMatching(/A change listener on .* threw \(listener bug\)/), {
      backend: 'redis',
      channel: expect.any(String),
    });
  });
});

async function serverMs(): Promise<number> {
  const [seconds, micros] = await admin.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}
