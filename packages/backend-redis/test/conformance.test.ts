import { afterAll } from '@jest/globals';
import { runConformanceSuite } from '@savepoint/conformance';
import { RedisBackend } from '../src/index.js';
import { REDIS_URL, describeRedis, removeKeys, testClient, uniquePrefix } from './support/redis-server.js';

// Test-side client: corrupts blobs below the adapter API and removes each test's keys afterwards.
const admin = testClient();
// A client the caller owns, shared by every backend of the second suite.
const shared = testClient();
const prefixes = new WeakMap<RedisBackend, string>();

async function fresh(options: ConstructorParameters<typeof RedisBackend>[0] & { prefix: string }): Promise<RedisBackend> {
  const backend = new RedisBackend(options);
  await backend.setup();
  prefixes.set(backend, options.prefix);
  return backend;
}

async function destroy(backend: RedisBackend): Promise<void> {
  await backend.close();
  await removeKeys(admin, prefixes.get(backend)!);
}

async function corruptBlob(backend: RedisBackend, runId: string, hash: string): Promise<void> {
  const key = `${prefixes.get(backend)}{${runId}}:blobs`;
  const data = (await admin.hget(key, hash))!;
  await admin.hset(key, hash, data.slice(0, Math.floor(data.length / 2)));
}

// Small, so the conformance suite's trimming test stays quick.
const maxEventsPerRun = 40;
const runtime = { events: true, inbox: true, notify: 'cross-process' } as const;

/** Another "process" on the same keys: its own client from the URL, the same prefix. */
async function sibling(backend: RedisBackend): Promise<RedisBackend> {
  const created = new RedisBackend({ url: REDIS_URL, prefix: prefixes.get(backend)!, maxEventsPerRun });
  await created.setup();
  return created;
}

afterAll(async () => {
  await admin.quit();
  await shared.quit();
});

describeRedis('RedisBackend', () => {
  runConformanceSuite({
    name: 'redis (URL, own client)',
    capabilities: { multiProcess: true, leases: true, ...runtime },
    create: () => fresh({ url: REDIS_URL, prefix: uniquePrefix('conformance'), maxEventsPerRun }),
    createSibling: sibling,
    maxEventsPerRun,
    destroy,
    corruptBlob,
  });

  runConformanceSuite({
    name: 'redis (caller-owned client, with TTL)',
    capabilities: { multiProcess: true, leases: true, ...runtime },
    create: () => fresh({ client: shared, prefix: uniquePrefix('conformance-ttl'), ttlSeconds: 3600, maxEventsPerRun }),
    createSibling: sibling,
    maxEventsPerRun,
    destroy,
    corruptBlob,
  });
});
