import { afterAll, afterEach, beforeAll, expect, it } from '@jest/globals';
import { CheckpointConflictError, CheckpointStore, InvalidArgumentError, LeaseLostError, RunLockedError } from '@savepoint/core';
import { makeCheckpoint, makeHeader } from '@savepoint/conformance';
import type { Command } from 'ioredis';
import { RedisBackend } from '../src/index.js';
import { describeRedis, keysUnder, removeKeys, testClient, uniquePrefix } from './support/redis-server.js';

// The backend's client, owned by the test so every command it sends can be counted.
const client = testClient();
const admin = testClient();
const sent: string[] = [];
const sendCommand = client.sendCommand.bind(client);
client.sendCommand = (command: Command, ...rest: unknown[]) => {
  sent.push(command.name.toLowerCase());
  return (sendCommand as (...args: unknown[]) => unknown)(command, ...rest) as ReturnType<typeof sendCommand>;
};

let prefix: string;
let redis: RedisBackend;

beforeAll(async () => {
  await client.connect();
});

afterEach(async () => {
  await redis.close();
  await removeKeys(admin, prefix);
});

afterAll(async () => {
  await client.quit();
  await admin.quit();
});

async function fresh(ttlSeconds?: number): Promise<RedisBackend> {
  prefix = uniquePrefix('commit');
  redis = new RedisBackend({ client, prefix, ...(ttlSeconds === undefined ? {} : { ttlSeconds }) });
  await redis.setup();
  return redis;
}

/** The commands `fn` sent on the backend's client. */
async function commandsOf(fn: () => Promise<unknown>): Promise<string[]> {
  sent.length = 0;
  await fn();
  return [...sent];
}

describeRedis('RedisBackend.commitCheckpoint', () => {
  it('saves a checkpoint (blobs, header, head, indexes) in one EVALSHA', async () => {
    const backend = await fresh();
    const store = new CheckpointStore(backend);
    // The first script call on a connection may be EVALSHA + EVAL (NOSCRIPT); load it once on another run.
    await store.save(makeCheckpoint({ runId: 'warm-up' }));
    const checkpoint = makeCheckpoint({ runId: 'run-1' });
    expect(await commandsOf(() => store.save(checkpoint))).toEqual(['evalsha']);
    expect(await admin.hlen(`${prefix}{run-1}:blobs`)).toBeGreaterThan(0);
    expect(await backend.getHead('run-1')).toBe(checkpoint.id);
    expect((await store.load(checkpoint.id))?.id).toBe(checkpoint.id);
    // The two-call path it replaces: one script for the blobs, one for the header.
    const header = makeHeader({ runId: 'run-2' });
    expect(
      await commandsOf(async () => {
        await backend.putBlobs('run-2', [{ hash: 'b1', data: 'x' }]);
        await backend.putHeader(header);
      }),
    ).toEqual(['evalsha', 'evalsha']);
  });

  it('writes the blobs insert-or-ignore and runs an empty batch as a plain header commit', async () => {
    const backend = await fresh();
    await backend.putBlobs('run-1', [{ hash: 'b1', data: 'first' }]);
    await backend.commitCheckpoint('run-1', [{ hash: 'b1', data: 'second' }, { hash: 'b2', data: 'two' }], makeHeader({ seq: 0 }));
    expect(Object.fromEntries(await backend.getBlobs('run-1', ['b1', 'b2']))).toEqual({ b1: 'first', b2: 'two' });
    const bare = makeHeader({ seq: 1 });
    await backend.commitCheckpoint('run-1', [], bare);
    expect(await backend.getHead('run-1')).toBe(bare.id);
  });

  it('a refused commit writes nothing: no blob, no header, no index entry', async () => {
    const backend = await fresh(3600);
    const first = makeHeader({ seq: 0 });
    await backend.commitCheckpoint('run-1', [{ hash: 'kept', data: 'k' }], first);
    const lease = (await backend.acquireLease('run-1', 'worker-a', 60_000))!;
    const before = await keysUnder(admin, prefix);
    const blob = [{ hash: 'orphan', data: 'o' }];
    const next = makeHeader({ seq: 1 });
    const refusals: Array<[() => Promise<void>, (error: unknown) => boolean]> = [
      [() => backend.commitCheckpoint('run-1', blob, next, { lease, expectedHead: null }), (e) => CheckpointConflictError.isInstance(e)],
      [() => backend.commitCheckpoint('run-1', blob, { ...first, seq: 1 }, { lease }), (e) => CheckpointConflictError.isInstance(e)],
      [() => backend.commitCheckpoint('run-1', blob, next), (e) => RunLockedError.isInstance(e)],
      [() => backend.commitCheckpoint('run-1', blob, next, { lease: { ...lease, token: lease.token + 1 } }), (e) => LeaseLostError.isInstance(e)],
    ];
    for (const [commit, expected] of refusals) {
      const error = await commit().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(expected(error)).toBe(true);
    }
    expect(await keysUnder(admin, prefix)).toEqual(before);
    expect(await admin.hkeys(`${prefix}{run-1}:blobs`)).toEqual(['kept']);
    expect(await admin.hlen(`${prefix}{run-1}:headers`)).toBe(1);
    expect(await admin.zcard(`${prefix}idx:all`)).toBe(1);
    expect(await backend.getHead('run-1')).toBe(first.id);
    // The same errors as putHeader, word for word.
    const duplicate = { ...first, seq: 1 };
    const viaPut = await backend.putHeader(duplicate, { lease }).catch((e: Error) => e.message);
    const viaCommit = await backend.commitCheckpoint('run-1', blob, duplicate, { lease }).catch((e: Error) => e.message);
    expect(viaCommit).toBe(viaPut);
  });

  it('sends blobs of 8 KB or more ahead of the script, in the same round trip, still insert-or-ignore', async () => {
    const backend = await fresh();
    await backend.commitCheckpoint('warm-up', [{ hash: 'w', data: 'w' }], makeHeader({ runId: 'warm-up' }));
    const large = 'L'.repeat(8 * 1024);
    await backend.putBlobs('run-1', [{ hash: 'big-1', data: `${large} first` }]);
    const blobs = [
      { hash: 'big-1', data: `${large} second` },
      { hash: 'big-2', data: large },
      { hash: 'small', data: 's' },
    ];
    const header = makeHeader({ seq: 0 });
    expect(await commandsOf(() => backend.commitCheckpoint('run-1', blobs, header))).toEqual(['hsetnx', 'hsetnx', 'evalsha']);
    expect(Object.fromEntries(await backend.getBlobs('run-1', ['big-1', 'big-2', 'small']))).toEqual({
      'big-1': `${large} first`,
      'big-2': large,
      small: 's',
    });
    expect(await backend.getHead('run-1')).toBe(header.id);
    const bare = makeHeader({ seq: 1 });
    await backend.commitCheckpoint('run-1', [{ hash: 'big-3', data: large }], bare);
    expect(await backend.getHead('run-1')).toBe(bare.id);
  });

  it('a refused commit leaves only its large blobs, as orphans that expire with the run', async () => {
    const backend = await fresh(3600);
    const blobs = [
      { hash: 'big', data: 'L'.repeat(8 * 1024) },
      { hash: 'small', data: 's' },
    ];
    await expect(backend.commitCheckpoint('run-1', blobs, makeHeader({ seq: 0 }), { expectedHead: 'not-the-head' })).rejects.toThrow(
      CheckpointConflictError,
    );
    expect(await keysUnder(admin, prefix)).toEqual(['{run-1}:blobs']);
    expect(await admin.hkeys(`${prefix}{run-1}:blobs`)).toEqual(['big']);
    expect(await admin.pttl(`${prefix}{run-1}:blobs`)).toBeGreaterThan(3_000_000);
  });

  it('refuses a runId that is not the header run', async () => {
    const backend = await fresh();
    await expect(backend.commitCheckpoint('run-2', [], makeHeader({ runId: 'run-1' }))).rejects.toThrow(InvalidArgumentError);
  });
});
