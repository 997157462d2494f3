// The real servers the workers share, a private namespace in each (schema / key prefix), the execution counts
// the workers record there, and a store over the same data for the test's own checks.
import { randomBytes } from 'node:crypto';
import { CheckpointStore } from '@savepoint/core';
import { PostgresBackend } from '@savepoint/backend-postgres';
import { RedisBackend } from '@savepoint/backend-redis';
import Redis from 'ioredis';
import { DATABASE_URL, REDIS_URL, removeRedisKeys, serverProblem } from '@savepoint/test-servers';
import pg from 'pg';

export type BackendKind = 'postgres' | 'redis';

/**
 * Whether the server for `kind` answers, probed synchronously so whole describe blocks can be skipped. Without
 * a server the suite fails under CI and is skipped with a loud warning elsewhere.
 */
export function serverAvailable(kind: BackendKind): boolean {
  return serverProblem(kind, `the multi-process ${kind} tests`) === null;
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
      await removeRedisKeys(client, prefix);
      client.disconnect();
    },
  };
}
