// The real servers the test suites share. One gate decides, per test file, whether a server's suites run:
// under CI a missing server is an error (they must run for real there); elsewhere they are skipped loudly.
import { spawnSync } from 'node:child_process';

export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0';

export type ServerKind = 'postgres' | 'redis';

const SERVERS: Record<ServerKind, { name: string; url: string; variable: string; script: string }> = {
  postgres: {
    name: 'PostgreSQL',
    url: DATABASE_URL,
    variable: 'DATABASE_URL',
    script: `const { Client } = require(${JSON.stringify(require.resolve('pg'))});
      const c = new Client({ connectionString: process.env.URL, connectionTimeoutMillis: 3000 });
      c.connect().then(() => c.end()).then(() => process.exit(0), (e) => { console.error(e.message); process.exit(1); });`,
  },
  redis: {
    name: 'Redis',
    url: REDIS_URL,
    variable: 'REDIS_URL',
    script: `const { Redis } = require(${JSON.stringify(require.resolve('ioredis'))});
      const r = new Redis(process.env.URL, { lazyConnect: true, connectTimeout: 3000, maxRetriesPerRequest: 0, retryStrategy: () => null });
      r.on('error', () => {});
      r.connect().then(() => r.ping()).then(() => r.quit()).then(() => process.exit(0), (e) => { console.error(e.message); process.exit(1); });`,
  },
};

/** CI sets `CI` (to `true`, `1`...); `CI=false` or `CI=0`, as some tools write it, is not CI. */
export function underCi(): boolean {
  const value = (process.env.CI ?? '').trim().toLowerCase();
  return value !== '' && value !== 'false' && value !== '0';
}

/**
 * Probes the server synchronously (in a child process, so a test file can decide while it declares its
 * describe blocks). Returns null when it answers; otherwise throws under CI, or warns loudly naming what is
 * skipped and returns the reason. The child's deadline is generous: on a loaded machine starting Node and
 * loading a client can take more than 10 s, while a server that is down answers ECONNREFUSED at once.
 */
export function serverProblem(kind: ServerKind, skipped: string): string | null {
  const { name, url, variable, script } = SERVERS[kind];
  const result = spawnSync(process.execPath, ['-e', script], { env: { ...process.env, URL: url }, encoding: 'utf8', timeout: 60_000 });
  if (result.status === 0) return null;
  const problem = (result.stderr || result.error?.message || 'no answer').trim();
  const message = `${name} is not reachable at ${url} (${problem}).`;
  if (underCi()) throw new Error(`${message} CI must start it (see .ci/run).`);
  console.warn(`\n!!! ${message} SKIPPING ${skipped}: set ${variable} or start a server. !!!\n`);
  return problem;
}

/** The part of an ioredis client key cleanup needs. */
export interface ScanningClient {
  scan(cursor: string, match: 'MATCH', pattern: string, count: 'COUNT', n: number): Promise<[string, string[]]>;
  unlink(...keys: string[]): Promise<number>;
}

/** Removes every key under `prefix` (SCAN + UNLINK, never KEYS). Returns how many there were. */
export async function removeRedisKeys(client: ScanningClient, prefix: string): Promise<number> {
  let cursor = '0';
  let removed = 0;
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) removed += await client.unlink(...keys);
  } while (cursor !== '0');
  return removed;
}

/** What `dumpPostgresTables` needs: a `pg.Pool`, `pg.Client` or anything with the same `query`. */
export interface Queryable {
  query<R extends Record<string, unknown>>(sql: string, values?: unknown[]): Promise<{ rows: R[] }>;
}

/**
 * Every value of every row of every table of `schema` whose name starts with `prefix`, one row a line, as
 * stored: what a test searches for a planted secret in what Savepoint persisted.
 */
export async function dumpPostgresTables(db: Queryable, schema: string, prefix: string): Promise<string> {
  const { rows: tables } = await db.query<{ tablename: string }>(
    'SELECT tablename FROM pg_tables WHERE schemaname = $1 AND left(tablename, length($2)) = $2',
    [schema, prefix],
  );
  const lines: string[] = [];
  for (const { tablename } of tables) {
    const { rows } = await db.query<Record<string, unknown>>(`SELECT * FROM "${schema}"."${tablename}"`);
    for (const row of rows) lines.push(`${tablename}\t${Object.values(row).map(String).join('\t')}`);
  }
  return lines.join('\n');
}

/** The part of an ioredis client `dumpRedisKeys` reads with. */
export interface ReadingClient extends ScanningClient {
  type(key: string): Promise<string>;
  get(key: string): Promise<string | null>;
  hgetall(key: string): Promise<Record<string, string>>;
  lrange(key: string, start: number, stop: number): Promise<string[]>;
  smembers(key: string): Promise<string[]>;
  zrange(key: string, start: string, stop: string, withScores: 'WITHSCORES'): Promise<string[]>;
  xrange(key: string, start: string, end: string): Promise<unknown>;
}

/** Every key under `prefix` with everything it holds, read plainly (no DUMP), one key a line. */
export async function dumpRedisKeys(client: ReadingClient, prefix: string): Promise<string> {
  const lines: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    cursor = next;
    for (const key of keys) {
      const type = await client.type(key);
      const read: Record<string, () => Promise<unknown>> = {
        string: () => client.get(key),
        hash: () => client.hgetall(key),
        list: () => client.lrange(key, 0, -1),
        set: () => client.smembers(key),
        zset: () => client.zrange(key, '0', '-1', 'WITHSCORES'),
        stream: () => client.xrange(key, '-', '+'),
      };
      const value = await (read[type] ?? (async () => `unreadable type ${type}`))();
      lines.push(`${key}\t${type}\t${flatten(value).join('\t')}`);
    }
  } while (cursor !== '0');
  return lines.join('\n');
}

/** Every string in a reply (nested arrays, hash objects), as stored. */
function flatten(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(flatten);
  if (typeof value === 'object' && value !== null) return Object.entries(value).flatMap(([field, inner]) => [field, ...flatten(inner)]);
  return [String(value)];
}
