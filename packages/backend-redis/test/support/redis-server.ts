// The Redis server the tests run against, and key prefixes of their own inside it.
import { randomBytes } from 'node:crypto';
import { describe } from '@jest/globals';
import { REDIS_URL, removeRedisKeys, serverProblem } from '@savepoint/test-servers';
import { Redis, type RedisOptions } from 'ioredis';

export { REDIS_URL, removeRedisKeys as removeKeys };

const problem = serverProblem('redis', 'the Redis tests');

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
