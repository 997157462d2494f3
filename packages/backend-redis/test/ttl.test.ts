import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, expect, it } from '@jest/globals';
import { CheckpointStore } from '@savepoint/core';
import { makeCheckpoint } from '@savepoint/conformance';
import { RedisBackend } from '../src/index.js';
import { REDIS_URL, describeRedis, removeKeys, testClient, uniquePrefix } from './support/redis-server.js';

const admin = testClient();
let prefix = '';
let backend: RedisBackend | undefined;

function open(ttlSeconds?: number): { backend: RedisBackend; store: CheckpointStore } {
  prefix = uniquePrefix('ttl');
  backend = new RedisBackend({ url: REDIS_URL, prefix, ...(ttlSeconds === undefined ? {} : { ttlSeconds }) });
  return { backend, store: new CheckpointStore(backend) };
}

const runKeys = (runId: string) => ['lease', 'headers', 'seq', 'blobs'].map((name) => `${prefix}{${runId}}:${name}`);
const pttls = (runId: string) => Promise.all(runKeys(runId).map((key) => admin.pttl(key)));

/** Polls until Redis has expired the run's header hash (bounded: fails the test rather than hanging). */
async function untilExpired(runId: string): Promise<void> {
  for (let i = 0; i < 100 && (await admin.exists(`${prefix}{${runId}}:headers`)) === 1; i += 1) await sleep(50);
  expect(await admin.exists(`${prefix}{${runId}}:headers`)).toBe(0);
}

afterEach(async () => {
  await backend?.close();
  await removeKeys(admin, prefix);
});

afterAll(async () => {
  await admin.quit();
});

describeRedis('RedisBackend TTL', () => {
  it('without ttlSeconds nothing expires', async () => {
    const { store } = open();
    await store.save(makeCheckpoint(), { lease: await store.acquireLease('run-1', 'worker-a', 60_000) });
    expect(await pttls('run-1')).toEqual([-1, -1, -1, -1]);
  });

  it("gives every key of a run the TTL and refreshes it on each write, lease call and delete", async () => {
    const { backend: redis, store } = open(60);
    const lease = await store.acquireLease('run-1', 'worker-a', 60_000);
    const first = makeCheckpoint();
    await store.save(first, { lease });
    for (const ttl of await pttls('run-1')) {
      expect(ttl).toBeGreaterThan(50_000);
      expect(ttl).toBeLessThanOrEqual(60_000);
    }
    const shorten = () => Promise.all(runKeys('run-1').map((key) => admin.pexpire(key, 5_000)));
    const refreshed = async () => (await pttls('run-1')).every((ttl) => ttl > 5_000);
    const writes: Array<() => Promise<unknown>> = [
      () => redis.putBlobs('run-1', [{ hash: 'h-new', data: 'x' }]),
      () => store.save(makeCheckpoint({ seq: 1, parentCheckpointId: first.id }), { lease }),
      () => store.renewLease(lease, 60_000),
      () => redis.deleteBlobsExcept('run-1', new Set(['h-new'])),
      () => redis.deleteHeaders([first.id]),
      () => store.releaseLease(lease),
    ];
    for (const write of writes) {
      await shorten();
      expect(await refreshed()).toBe(false);
      await write();
      expect(await refreshed()).toBe(true);
    }
    // Cross-run indexes are shared by every run: they never expire (see the README).
    expect(await admin.pttl(`${prefix}idx:all`)).toBe(-1);
  });

  it('never expires a run whose head waits for input; the TTL returns when the run moves on', async () => {
    const { store } = open(60);
    const lease = await store.acquireLease('run-1', 'worker-a', 60_000);
    const waiting = makeCheckpoint({ status: 'pending_input' });
    await store.save(waiting, { lease });
    expect(await pttls('run-1')).toEqual([-1, -1, -1, -1]);
    await store.renewLease(lease, 60_000);
    expect(await pttls('run-1')).toEqual([-1, -1, -1, -1]);

    await store.save(makeCheckpoint({ seq: 1, parentCheckpointId: waiting.id, status: 'completed' }), { lease });
    for (const ttl of await pttls('run-1')) expect(ttl).toBeGreaterThan(50_000);
  });

  it("extends to the run's event log and inbox: their writes refresh every key, and a waiting run keeps its answers", async () => {
    const { backend: redis, store } = open(60);
    const runtimeKeys = ['events', 'inputs', 'consumed'].map((name) => `${prefix}{run-1}:${name}`);
    const all = [...runKeys('run-1'), ...runtimeKeys];
    const lease = await store.acquireLease('run-1', 'worker-a', 60_000);
    await store.save(makeCheckpoint(), { lease });
    await redis.appendEvents('run-1', [{ type: 'run_started', data: '{}', ts: 1 }]);
    await redis.putInput('run-1', { key: 'k-1', nodePath: 'approve', value: 'true', createdAt: 1 });
    await redis.takeInputs('run-1', 'worker-a');
    for (const ttl of await Promise.all(all.map((key) => admin.pttl(key)))) expect(ttl).toBeGreaterThan(50_000);

    const shorten = () => Promise.all(all.map((key) => admin.pexpire(key, 5_000)));
    const refreshed = async () => (await Promise.all(all.map((key) => admin.pttl(key)))).every((ttl) => ttl > 5_000);
    const writes: Array<() => Promise<unknown>> = [
      () => redis.appendEvents('run-1', [{ type: 'node_started', data: '{}', ts: 2 }]),
      () => redis.putInput('run-1', { key: 'k-2', nodePath: 'approve', value: 'true', createdAt: 2 }),
      () => redis.takeInputs('run-1', 'worker-a'),
      () => redis.putBlobs('run-1', [{ hash: 'h-new', data: 'x' }]),
    ];
    for (const write of writes) {
      await shorten();
      await write();
      expect(await refreshed()).toBe(true);
    }
    // A retried input and a take that finds nothing write nothing, so they refresh nothing.
    await shorten();
    await redis.putInput('run-1', { key: 'k-2', nodePath: 'approve', value: 'true', createdAt: 2 });
    await redis.takeInputs('run-1', 'worker-a');
    expect(await refreshed()).toBe(false);

    // The head waits for a human: the answer the human posts must not expire either.
    await store.save(makeCheckpoint({ seq: 1, status: 'pending_input' }), { lease });
    await redis.putInput('run-1', { key: 'k-3', nodePath: 'approve', value: 'true', createdAt: 3 });
    expect(await Promise.all(all.map((key) => admin.pttl(key)))).toEqual(all.map(() => -1));
  });

  it('drops an expired run entirely; queries skip its index entries and remove them', async () => {
    const { backend: redis, store } = open(0.3);
    const done = [0, 1].map((seq) => makeCheckpoint({ runId: 'run-done', seq, status: seq === 1 ? 'completed' : 'active' }));
    const waiting = makeCheckpoint({ runId: 'run-waiting', status: 'pending_input' });
    for (const checkpoint of [...done, waiting]) await store.save(checkpoint);
    await untilExpired('run-done');

    expect(await redis.getHeader(done[0]!.id)).toBeNull();
    expect(await redis.getHead('run-done')).toBeNull();
    expect((await store.listByFlow('flow-a')).map((summary) => summary.id)).toEqual([waiting.id]);
    expect(await admin.zrange(`${prefix}idx:flow:flow-a`, '0', '-1')).toEqual([`${waiting.id} run-waiting`]);
    expect(await admin.hkeys(`${prefix}idx:ids`)).toEqual([waiting.id]);
    expect(await redis.queryHeaders({ statuses: ['completed'] })).toEqual([]);
    expect(await admin.zcard(`${prefix}idx:status:completed`)).toBe(0);
    // The waiting run outlived the TTL and still loads.
    expect(await store.load(waiting.id)).toEqual(waiting);
    expect(await store.listPendingInput()).toHaveLength(1);
  });
});

