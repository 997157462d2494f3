// A private namespace on each backend for one test: a SQLite file or a file-backend directory under a temp
// directory, a PostgreSQL schema, a Redis key prefix. `worker` is what the worker scripts need to reach it
// (test/open-backend.cjs); `close()` removes it all.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { DATABASE_URL, REDIS_URL, removeRedisKeys, serverProblem } from '@savepoint/test-servers';
import pg from 'pg';

export type BackendKind = 'sqlite' | 'file' | 'postgres' | 'redis';
export type ServerBackendKind = Extract<BackendKind, 'postgres' | 'redis'>;

export const ALL_BACKENDS: readonly BackendKind[] = ['file', 'sqlite', 'postgres', 'redis'];

/**
 * Whether `kind` can run here. The embedded ones always can; a server is probed synchronously (so whole test
 * blocks can be declared skipped): without it the suite fails under CI and is skipped with a loud warning elsewhere.
 */
export function backendAvailable(kind: BackendKind, what: string): boolean {
  return kind === 'sqlite' || kind === 'file' || serverProblem(kind, `${what} on ${kind}`) === null;
}

export interface Namespace {
  readonly kind: BackendKind;
  /** Merged into each worker's argv config. */
  readonly worker: Record<string, unknown>;
  /** PostgreSQL only: a small pool on the server, for the test's own tables in `worker.schema`. */
  readonly pool?: pg.Pool;
  /** Redis only: a client, for the test's own keys under `worker.prefix`. */
  readonly redis?: Redis;
  close(): Promise<void>;
}

export async function openNamespace(kind: BackendKind): Promise<Namespace> {
  const tag = `${process.pid}_${randomBytes(3).toString('hex')}`;
  if (kind === 'sqlite' || kind === 'file') {
    const dir = mkdtempSync(join(tmpdir(), `sp-mp-${kind}-`));
    return {
      kind,
      worker: kind === 'sqlite' ? { backend: kind, path: join(dir, 'savepoint.db') } : { backend: kind, dir: join(dir, 'store') },
      close: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  if (kind === 'postgres') {
    const schema = `sp_mp_${tag}`;
    const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 3, connectionTimeoutMillis: 5000 });
    pool.on('error', () => undefined);
    await pool.query(`CREATE SCHEMA "${schema}"`);
    return {
      kind,
      worker: { backend: kind, url: DATABASE_URL, schema },
      pool,
      async close() {
        await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
        await pool.end();
      },
    };
  }
  const prefix = `sp-mp:${tag}:`;
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  await redis.connect();
  return {
    kind,
    worker: { backend: kind, url: REDIS_URL, prefix },
    redis,
    async close() {
      await removeRedisKeys(redis, prefix);
      redis.disconnect();
    },
  };
}
