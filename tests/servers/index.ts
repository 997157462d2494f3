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
 * skipped and returns the reason.
 */
export function serverProblem(kind: ServerKind, skipped: string): string | null {
  const { name, url, variable, script } = SERVERS[kind];
  const result = spawnSync(process.execPath, ['-e', script], { env: { ...process.env, URL: url }, encoding: 'utf8', timeout: 10_000 });
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
