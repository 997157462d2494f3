import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import { BackendUnavailableError, CorruptCheckpointError, InvalidArgumentError, type ChangeMessage } from '@savepoint/core';
import { RedisBackend, type RedisBackendOptions } from '../src/index.js';
import { REDIS_URL, describeRedis, keysUnder, removeKeys, testClient, uniquePrefix } from './support/redis-server.js';

// The conformance suite covers the contract (seqs, inbox races, delivery across instances); these are the
// Redis specifics: the key layout, the duplicated pub/sub client and its life, channels and foreign data.
const admin = testClient();
const prefixes: string[] = [];
const cleanups: Array<() => Promise<unknown>> = [];

function open(options: Partial<RedisBackendOptions> = {}): { backend: RedisBackend; prefix: string } {
  const prefix = options.prefix ?? uniquePrefix('runtime');
  prefixes.push(prefix);
  const backend = new RedisBackend({ url: REDIS_URL, ...options, prefix } as RedisBackendOptions);
  cleanups.push(() => backend.close());
  return { backend, prefix };
}

/** Subscribes and hands out what arrives, one message at a time. */
async function inbox(backend: RedisBackend, channel: string) {
  const queue: ChangeMessage[] = [];
  let wake: (() => void) | undefined;
  const unsubscribe = await backend.subscribe(channel, (message) => {
    queue.push(message);
    wake?.();
  });
  return {
    unsubscribe,
    async next(): Promise<ChangeMessage> {
      while (queue.length === 0) await new Promise<void>((resolve) => (wake = resolve));
      return queue.shift()!;
    },
    get pending() {
      return queue.length;
    },
  };
}

/** This server's clients named `name` (CLIENT LIST lines). */
async function clientsNamed(name: string): Promise<string[]> {
  return ((await admin.client('LIST')) as string).split('\n').filter((line) => line.includes(` name=${name} `));
}

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
  for (const prefix of prefixes.splice(0)) await removeKeys(admin, prefix);
});

afterAll(async () => {
  await admin.quit();
});

describe('RedisBackend runtime options', () => {
  it('validates maxEventsPerRun', () => {
    expect(() => new RedisBackend({ url: REDIS_URL, maxEventsPerRun: 0 })).toThrow(InvalidArgumentError);
    expect(() => new RedisBackend({ url: REDIS_URL, maxEventsPerRun: 2.5 })).toThrow(/maxEventsPerRun must be a positive integer/);
    expect(open().backend.maxEventsPerRun).toBe(10_000);
  });
});

describeRedis('RedisBackend event log and inbox', () => {
  it("keeps a run's events in a stream with ids <seq>-0 and its inbox in two hashes, under its hash tag", async () => {
    const { backend, prefix } = open({ maxEventsPerRun: 3 });
    const events = Array.from({ length: 5 }, (_, i) => ({ type: 'stream_chunk', data: JSON.stringify({ i }), ts: 1_700_000_000_000.5 + i }));
    expect((await backend.appendEvents('run-1', events)).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    // Trimmed within the one call; the newest entry still counts the seqs.
    expect((await admin.xrange(`${prefix}{run-1}:events`, '-', '+')).map(([id]) => id)).toEqual(['3-0', '4-0', '5-0']);
    expect((await backend.readEvents('run-1', 0)).map((e) => e.ts)).toEqual(events.slice(2).map((e) => e.ts));
    expect((await backend.appendEvents('run-1', events.slice(0, 1)))[0]!.seq).toBe(6);

    await backend.putInput('run-1', { key: 'k-1', nodePath: 'approve', value: 'true', createdAt: 1 });
    await backend.takeInputs('run-1', 'worker-a');
    expect(await keysUnder(admin, prefix)).toEqual(['{run-1}:consumed', '{run-1}:events', '{run-1}:inputs']);
  });

  it('records a consumer name with spaces as given, and consumedAt from the Redis clock', async () => {
    const { backend } = open();
    const serverMs = async () => {
      const [seconds, micros] = await admin.time();
      return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    };
    await backend.putInput('run-1', { key: 'k-1', nodePath: 'approve', value: '{"ok":true}', createdAt: 5 });
    const before = await serverMs();
    const [taken] = await backend.takeInputs('run-1', 'worker a on host-b');
    const after = await serverMs();
    expect(taken).toMatchObject({ key: 'k-1', consumedBy: 'worker a on host-b' });
    expect(taken!.consumedAt).toBeGreaterThanOrEqual(before);
    expect(taken!.consumedAt).toBeLessThanOrEqual(after);
    expect(await backend.getInput('run-1', 'k-1')).toEqual(taken);
  });

  it('refuses entries it did not write as corrupt, rather than inventing records', async () => {
    const { backend, prefix } = open();
    await admin.xadd(`${prefix}{run-1}:events`, '1-0', 'something', 'else');
    await expect(backend.readEvents('run-1', 0)).rejects.toThrow(CorruptCheckpointError);
    await admin.hset(`${prefix}{run-1}:inputs`, 'k-1', 'not json');
    await expect(backend.getInput('run-1', 'k-1')).rejects.toThrow(CorruptCheckpointError);
  });
});

describeRedis('RedisBackend change notification (pub/sub)', () => {
  it('subscribes on a duplicate of your client, which never enters subscriber mode; close() quits the duplicate', async () => {
    const name = `sp-sub-${process.pid}-${randomBytes(3).toString('hex')}`;
    const client = testClient({ connectionName: name });
    cleanups.push(() => client.quit());
    const { backend } = open({ client, url: undefined });
    await backend.setup();
    expect(await clientsNamed(name)).toHaveLength(1);

    const changes = await inbox(backend, 'run-1');
    const named = await clientsNamed(name);
    expect(named).toHaveLength(2);
    expect(named.filter((line) => / sub=1 /.test(line))).toHaveLength(1);
    // Yours still runs commands, the backend's among them.
    expect(await client.ping()).toBe('PONG');
    await backend.publish({ runId: 'run-1', kind: 'event', seq: 1 });
    expect(await changes.next()).toEqual({ runId: 'run-1', kind: 'event', seq: 1 });

    await backend.close();
    const left = await clientsNamed(name);
    expect(left).toHaveLength(1);
    expect(left[0]).toMatch(/ sub=0 /);
    expect(client.status).toBe('ready');
    await expect(backend.subscribe('run-1', () => undefined)).rejects.toThrow(/closed/);
  });

  it('its pub/sub client reconnects and re-subscribes, even when your client would give up', async () => {
    const name = `sp-resub-${process.pid}-${randomBytes(3).toString('hex')}`;
    // testClient's retryStrategy never reconnects; the duplicate must not inherit that.
    const client = testClient({ connectionName: name });
    cleanups.push(() => client.quit());
    const { backend } = open({ client, url: undefined });
    const changes = await inbox(backend, '*');
    const subscriber = (await clientsNamed(name)).find((line) => / sub=1 /.test(line))!;
    await admin.client('KILL', 'ID', /^id=(\d+)/.exec(subscriber)![1]!);

    // Messages published while it reconnects are lost: publish until one arrives.
    let seq = 0;
    while (changes.pending === 0 && seq < 500) {
      seq += 1;
      await backend.publish({ runId: 'run-1', kind: 'checkpoint', seq });
      await sleep(20);
    }
    expect((await changes.next()).kind).toBe('checkpoint');
    expect((await clientsNamed(name)).filter((line) => / sub=1 /.test(line))).toHaveLength(1);
  });

  it("subscribes a Redis channel once per channel, and unsubscribes it with the channel's last listener", async () => {
    const { backend, prefix } = open();
    const numsub = async () => Number(((await admin.pubsub('NUMSUB', `${prefix}changes:run-1`)) as [string, number])[1]);
    const first = await inbox(backend, 'run-1');
    const second = await inbox(backend, 'run-1');
    expect(await numsub()).toBe(1);
    await first.unsubscribe();
    expect(await numsub()).toBe(1);
    await second.unsubscribe();
    await second.unsubscribe();
    expect(await numsub()).toBe(0);
    // A channel given up can be taken again.
    const third = await inbox(backend, 'run-1');
    await backend.publish({ runId: 'run-1', kind: 'input' });
    expect(await third.next()).toEqual({ runId: 'run-1', kind: 'input' });
  });

  it('hears its own prefix only, and drops what others publish on its channels', async () => {
    const { backend, prefix } = open();
    const { backend: other } = open();
    const changes = await inbox(backend, '*');
    await other.publish({ runId: 'run-1', kind: 'event', seq: 1 });
    await admin.publish(`${prefix}changes:*`, 'not json');
    await admin.publish(`${prefix}changes:*`, JSON.stringify({ runId: '../etc', kind: 'event' }));
    await backend.publish({ runId: 'run-1', kind: 'event', seq: 2 });
    // Redis delivers a connection's messages in publish order: anything heard before would come first.
    expect(await changes.next()).toEqual({ runId: 'run-1', kind: 'event', seq: 2 });
  });

  it('a subscribe that cannot reach Redis fails with BackendUnavailableError, and the next one tries again', async () => {
    const { backend } = open({ url: 'redis://127.0.0.1:1', readyTimeoutMs: 300 });
    await expect(backend.subscribe('run-1', () => undefined)).rejects.toThrow(BackendUnavailableError);
    await expect(backend.subscribe('run-1', () => undefined)).rejects.toThrow(BackendUnavailableError);
  });
});
