// The Redis server the tests run against, and key prefixes of their own inside it.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe } from '@jest/globals';
import { Redis, type RedisOptions } from 'ioredis';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0';

/** Probed once per test file, synchronously, so a missing server can skip (or fail) whole describe blocks. */
function probe(): string | null {
  const script = `const { Redis } = require(${JSON.stringify(require.resolve('ioredis'))});
    const r = new Redis(process.env.REDIS_URL, { lazyConnect: true, connectTimeout: 3000, maxRetriesPerRequest: 0, retryStrategy: () => null });
    r.on('error', () => {});
    r.connect().then(() => r.ping()).then(() => r.quit()).then(() => process.exit(0), (e) => { console.error(e.message); process.exit(1); });`;
  const result = spawnSync(process.execPath, ['-e', script], { env: { ...process.env, REDIS_URL }, encoding: 'utf8', timeout: 10_000 });
  return result.status === 0 ? null : (result.stderr || result.error?.message || 'no answer').trim();
}

const problem = probe();
if (problem !== null) {
  const message = `Redis is not reachable at ${REDIS_URL} (${problem}).`;
  if (process.env.CI) throw new Error(`${message} CI must start it.`);
  console.warn(`\n!!! ${message} SKIPPING the Redis tests: set REDIS_URL or start a server. !!!\n`);
}

/** `describe`, or `describe.skip` when no server answers outside CI. */
export const describeRedis: (name: string, fn: () => void) => void = problem === null ? describe : describe.skip;

/** A key prefix unique to this process and call, e.g. `sp-test:ttl:1234:9f2c1a:`. */
export function uniquePrefix(tag: string): string {
  return `sp-test:${tag}:${process.pid}:${randomBytes(3).toString('hex')}:`;
}

/** A client for the tests themselves: a missing server fails fast, and it never reconnects on its own. */
export function testClient(options: RedisOptions = {}, url = REDIS_URL): Redis {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 3000, retryStrategy: () => null, ...options });
  client.on('error', () => undefined);
  return client;
}

/** Removes every key under `prefix` (SCAN + UNLINK, never KEYS). Returns how many there were. */
export async function removeKeys(client: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let removed = 0;
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) removed += await client.unlink(...keys);
  } while (cursor !== '0');
  return removed;
}

/** Every key under `prefix`, sorted, with the prefix cut off. */
export async function keysUnder(client: Redis, prefix: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    cursor = next;
    found.push(...keys.map((key) => key.slice(prefix.length)));
  } while (cursor !== '0');
  return found.sort();
}
