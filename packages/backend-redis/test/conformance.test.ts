import { afterAll } from '@jest/globals';
import { runConformanceSuite } from '@savepoint/conformance';
import { dumpRedisKeys } from '@savepoint/test-servers';
import { RedisBackend } from '../src/index.js';
import { REDIS_URL, describeRedis, removeKeys, testClient, uniquePrefix } from './support/redis-server.js';

// Test-side client: corrupts blobs below the adapter API and removes each test's keys afterwards.
const admin = testClient();
// A client the caller owns, shared by every backend of the second suite.
const shared = testClient();
const prefixes = new WeakMap<RedisBackend, string>();

type Options = ConstructorParameters<typeof RedisBackend>[0] & { prefix: string };

/** A backend on a new prefix, without setup(): its first call connects its client. */
function unset(options: Options): RedisBackend {
  const backend = new RedisBackend(options);
  prefixes.set(backend, options.prefix);
  return backend;
}

async function fresh(options: Options): Promise<RedisBackend> {
  const backend = unset(options);
  await backend.setup();
  return backend;
}

/** Every key under the backend's prefix with everything it holds, as stored. */
const dumpRaw = (backend: RedisBackend): Promise<string> => dumpRedisKeys(admin, prefixes.get(backend)!);

// Clients the fresh-store tests created for a backend (which leaves a caller's client open): closed with it.
const testOwned = new WeakSet<RedisBackend>();

async function destroy(backend: RedisBackend): Promise<void> {
  await backend.close();
  if (testOwned.has(backend)) backend.client.disconnect();
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
    createFresh: async () => unset({ url: REDIS_URL, prefix: uniquePrefix('conformance-fresh'), maxEventsPerRun }),
    dumpRaw,
    createSibling: sibling,
    maxEventsPerRun,
    destroy,
    corruptBlob,
  });

  runConformanceSuite({
    name: 'redis (caller-owned client, with TTL)',
    capabilities: { multiProcess: true, leases: true, ...runtime },
    create: () => fresh({ client: shared, prefix: uniquePrefix('conformance-ttl'), ttlSeconds: 3600, maxEventsPerRun }),
    // A client of its own that never connected: the backend's first call connects it.
    async createFresh() {
      const backend = unset({ client: testClient(), prefix: uniquePrefix('conformance-ttl-fresh'), ttlSeconds: 3600, maxEventsPerRun });
      testOwned.add(backend);
      return backend;
    },
    dumpRaw,
    createSibling: sibling,
    maxEventsPerRun,
    destroy,
    corruptBlob,
  });
});
