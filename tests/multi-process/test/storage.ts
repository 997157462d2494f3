// The real servers the workers share, a private namespace in each (schema / key prefix), the execution counts
// the workers record there, and a store over the same data for the test's own checks.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { CheckpointStore } from '@savepoint/core';
import { PostgresBackend } from '@savepoint/backend-postgres';
import { RedisBackend } from '@savepoint/backend-redis';
import Redis from 'ioredis';
import pg from 'pg';

export type BackendKind = 'postgres' | 'redis';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0';

const PROBES: Record<BackendKind, { url: string; script: string }> = {
  postgres: {
    url: DATABASE_URL,
    script: `const { Client } = require(${JSON.stringify(require.resolve('pg'))});
      const c = new Client({ connectionString: process.env.URL, connectionTimeoutMillis: 3000 });
      c.connect().then(() => c.end()).then(() => process.exit(0), (e) => { console.error(e.message); process.exit(1); });`,
  },
  redis: {
    url: REDIS_URL,
    script: `const Redis = require(${JSON.stringify(require.resolve('ioredis'))});
      const r = new Redis(process.env.URL, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null, connectTimeout: 3000 });
      r.connect().then(() => r.ping()).then(() => { r.disconnect(); process.exit(0); }, (e) => { console.error(e.message); process.exit(1); });`,
  },
};

/**
 * Whether the server for `kind` answers, probed synchronously so whole describe blocks can be skipped. Without
 * a server the suite fails under CI and is skipped with a loud warning elsewhere.
 */
export function serverAvailable(kind: BackendKind): boolean {
  const { url, script } = PROBES[kind];
  const result = spawnSync(process.execPath, ['-e', script], { env: { ...process.env, URL: url }, encoding: 'utf8', timeout: 10_000 });
  if (result.status === 0) return true;
  const message = `${kind} is not reachable at ${url} (${(result.stderr || result.error?.message || 'no answer').trim()}).`;
  if (process.env.CI) throw new Error(`${message} CI must start it (see .ci/run).`);
  console.warn(`\n!!! ${message} SKIPPING the multi-process ${kind} tests. !!!\n`);
  return false;
}

/** One backend's namespace for one test file. */
export interface SharedStorage {
  /** What a worker needs to reach the same data (merged into its argv config). */
  readonly worker: Record<string, unknown>;
  /** A store over the same data, for the test's own checks (this process runs the package sources). */
  readonly store: CheckpointStore;
  /** How many times each node started, recorded by the workers: `runId:node` -> count. */
  executions(runIds: readonly string[]): Promise<Map<string, number>>;
  close(): Promise<void>;
}

export async function openStorage(kind: BackendKind): Promise<SharedStorage> {
  const tag = `${process.pid}_${randomBytes(3).toString('hex')}`;
  if (kind === 'postgres') {
    const schema = `sp_mp_${tag}`;
    const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 3, connectionTimeoutMillis: 5000 });
    pool.on('error', () => undefined);
    await pool.query(`CREATE SCHEMA "${schema}"`);
    await pool.query(`CREATE TABLE "${schema}".executions (run_id text NOT NULL, node text NOT NULL, pid integer NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())`);
    const backend = new PostgresBackend({ pool, schema, tablePrefix: 'sp_' });
    return {
      worker: { backend: 'postgres', url: DATABASE_URL, schema },
      store: new CheckpointStore(backend),
      async executions() {
        const { rows } = await pool.query(`SELECT run_id, node, count(*)::int AS n FROM "${schema}".executions GROUP BY run_id, node`);
        return new Map(rows.map((row) => [`${row.run_id}:${row.node}`, row.n as number]));
      },
      async close() {
        await backend.close();
        await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
        await pool.end();
      },
    };
  }
  const prefix = `sp-mp:${tag}:`;
  const client = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  await client.connect();
  const backend = new RedisBackend({ client, prefix });
  return {
    worker: { backend: 'redis', url: REDIS_URL, prefix },
    store: new CheckpointStore(backend),
    async executions(runIds) {
      const keys = runIds.flatMap((runId) => ['a', 'b', 'c'].map((node) => `${runId}:${node}`));
      const values = await client.mget(...keys.map((key) => `${prefix}exec:${key}`));
      return new Map(keys.map((key, i) => [key, Number(values[i] ?? 0)]).filter(([, n]) => n !== 0) as Array<[string, number]>);
    },
    async close() {
      await backend.close();
      let cursor = '0';
      do {
        const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        if (keys.length > 0) await client.del(...keys);
        cursor = next;
      } while (cursor !== '0');
      client.disconnect();
    },
  };
}
