// The real servers the workers of multi-process.test.ts share: a namespace on each (test/namespaces.ts), the
// execution counts test/worker.cjs records there, and a store over the same data for the test's own checks.
import { CheckpointStore } from '@savepoint/core';
import { PostgresBackend } from '@savepoint/backend-postgres';
import { RedisBackend } from '@savepoint/backend-redis';
import { openNamespace, type ServerBackendKind } from './namespaces.js';

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

export async function openStorage(kind: ServerBackendKind): Promise<SharedStorage> {
  const namespace = await openNamespace(kind);
  const { pool, redis } = namespace;
  if (pool) {
    const schema = namespace.worker.schema as string;
    await pool.query(`CREATE TABLE "${schema}".executions (run_id text NOT NULL, node text NOT NULL, pid integer NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())`);
    const backend = new PostgresBackend({ pool, schema, tablePrefix: 'sp_' });
    return {
      worker: namespace.worker,
      store: new CheckpointStore(backend),
      async executions() {
        const { rows } = await pool.query(`SELECT run_id, node, count(*)::int AS n FROM "${schema}".executions GROUP BY run_id, node`);
        return new Map(rows.map((row) => [`${row.run_id}:${row.node}`, row.n as number]));
      },
      async close() {
        await backend.close();
        await namespace.close();
      },
    };
  }
  const prefix = namespace.worker.prefix as string;
  const backend = new RedisBackend({ client: redis!, prefix });
  return {
    worker: namespace.worker,
    store: new CheckpointStore(backend),
    async executions(runIds) {
      const keys = runIds.flatMap((runId) => ['a', 'b', 'c'].map((node) => `${runId}:${node}`));
      const values = await redis!.mget(...keys.map((key) => `${prefix}exec:${key}`));
      return new Map(keys.map((key, i) => [key, Number(values[i] ?? 0)]).filter(([, n]) => n !== 0) as Array<[string, number]>);
    },
    async close() {
      await backend.close();
      await namespace.close();
    },
  };
}
