import { once } from 'node:events';
import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import { BackendUnavailableError, CheckpointStore, Flow, FunctionNode, Workflow } from '@savepoint/core';
import { makeCheckpoint } from '@savepoint/conformance';
import { MaxRetriesPerRequestError } from 'ioredis/built/errors/index.js';
import { RedisBackend } from '../src/index.js';
import { describeUrl, toSavepointError } from '../src/redis-errors.js';
import { REDIS_URL, describeRedis, removeKeys, testClient, uniquePrefix } from './support/redis-server.js';

// Nothing listens on port 1: connections are refused at once.
const NOWHERE = 'redis://127.0.0.1:1';
const admin = testClient();
const prefixes: string[] = [];

afterEach(async () => {
  for (const prefix of prefixes.splice(0)) await removeKeys(admin, prefix);
});

afterAll(async () => {
  await admin.quit();
});

describe('RedisBackend without a server', () => {
  it('fails with BackendUnavailableError, never hangs, and recovers nothing it should not', async () => {
    const backend = new RedisBackend({ url: NOWHERE, readyTimeoutMs: 300 });
    const store = new CheckpointStore(backend);
    const refused = await store.save(makeCheckpoint()).catch((error: unknown) => error);
    expect(BackendUnavailableError.isInstance(refused)).toBe(true);
    // Where the server is goes on `location`; the message says what to do without it.
    expect((refused as Error).message).toMatch(/could not connect \(.*\): check that the server is running/);
    expect((refused as Error).message).not.toContain('127.0.0.1');
    await expect(backend.setup()).rejects.toMatchObject({ location: 'redis://127.0.0.1:1' });
    // The client now retries in the background; a call waits for it at most readyTimeoutMs.
    await expect(backend.getHead('run-1')).rejects.toThrow(/not reachable within 300 ms/);
    await backend.close();
    await expect(backend.getHead('run-1')).rejects.toThrow(/was closed/);
  });

  it('fails at once on a client whose connection ended, or ends while the backend waits', async () => {
    const ending = testClient({ lazyConnect: false }, NOWHERE);
    const backend = new RedisBackend({ client: ending });
    expect(ending.status).toBe('connecting');
    await expect(backend.getHead('run-1')).rejects.toThrow(/ended while the backend waited/);
    expect(ending.status).toBe('end');
    await expect(backend.getHead('run-1')).rejects.toThrow(/has ended.*client\.connect\(\)/);
  });
});

describe('Redis error mapping', () => {
  it('maps connection failures to BackendUnavailableError and passes the rest through', () => {
    const retries = toSavepointError(new MaxRetriesPerRequestError(1), 'write blobs', 'redis://host');
    expect(BackendUnavailableError.isInstance(retries)).toBe(true);
    expect(retries).toMatchObject({ message: expect.stringMatching(/could not write blobs \(Reached the max retries/), location: 'redis://host' });
    expect(BackendUnavailableError.isInstance(toSavepointError(new Error('LOADING Redis is loading'), 'x', 'y'))).toBe(true);
    const bug = new TypeError('x is not a function');
    expect(toSavepointError(bug, 'x', 'y')).toBe(bug);
  });

  it('never shows a password in messages', () => {
    expect(describeUrl('redis://app:s3cret@cache:6379/2')).toBe('redis://app:***@cache:6379/2');
    expect(describeUrl('not a url')).toBe('the Redis URL given');
  });
});

describeRedis('RedisBackend when the connection drops', () => {
  it('a wrong key type (a prefix shared with other data) is not mistaken for an outage', async () => {
    const prefix = uniquePrefix('clash');
    prefixes.push(prefix);
    await admin.set(`${prefix}{run-1}:blobs`, 'not a hash');
    const backend = new RedisBackend({ url: REDIS_URL, prefix });
    const failure = await backend.putBlobs('run-1', [{ hash: 'h', data: 'd' }]).catch((error: unknown) => error);
    expect(String(failure)).toMatch(/WRONGTYPE/);
    expect(BackendUnavailableError.isInstance(failure)).toBe(false);
    await backend.close();
  });

  it("a run with onCheckpointError 'continue' completes with a warning; the next checkpoint after reconnecting lands", async () => {
    const prefix = uniquePrefix('killed');
    prefixes.push(prefix);
    // The caller's client, which does not reconnect by itself: the test decides when it comes back.
    const client = testClient();
    const killer = testClient();
    const backend = new RedisBackend({ client, prefix });
    const flow = new Flow({
      id: 'killed',
      nodes: [
        new FunctionNode({
          id: 'a',
          run: async () => {
            const ended = once(client, 'end');
            await killer.client('KILL', 'ID', String(await client.client('ID')));
            await ended;
            return 'a';
          },
        }),
        new FunctionNode({
          id: 'b',
          dependsOn: ['a'],
          run: async () => {
            await client.connect();
            return 'b';
          },
        }),
        new FunctionNode({ id: 'c', dependsOn: ['b'], run: () => 'c' }),
      ],
    });
    const workflow = new Workflow({ flow, checkpoint: { enabled: true, backend, onCheckpointError: 'continue' } });
    const failed: unknown[] = [];
    workflow.on('checkpoint_failed', (event) => failed.push(event));

    const result = await workflow.run({});
    expect(result.status).toBe('success');
    expect(result.output).toBe('c');
    expect(result.warnings).toEqual([expect.objectContaining({ code: 'CHECKPOINT_WRITE_FAILED', message: expect.stringMatching(/has ended/) })]);
    expect(failed).toHaveLength(1);
    const head = await new CheckpointStore(backend).load(result.checkpointId!);
    expect(head.status).toBe('completed');
    expect(head.completedNodeIds.sort()).toEqual(['a', 'b', 'c']);
    expect(head.seq).toBeGreaterThanOrEqual(1);
    await client.quit();
    await killer.quit();
  });
});
