// The shared backends the multi-process tests run on: one SQLite file, one PostgreSQL schema, one Redis key
// prefix. A `BackendSpec` is plain JSON so a spawned server can open the same storage as the test process.
// The runtime itself never imports a concrete backend: only these tests do.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PostgresBackend } from '@savepoint/backend-postgres';
import { RedisBackend } from '@savepoint/backend-redis';
import { SqliteBackend } from '@savepoint/backend-sqlite';
import type { StorageAdapter } from '@savepoint/core';
import { DATABASE_URL, REDIS_URL, removeRedisKeys, serverProblem } from '@savepoint/test-servers';
import { Redis } from 'ioredis';
import pg from 'pg';

export type BackendSpec =
  | { kind: 'sqlite'; path: string }
  | { kind: 'postgres'; connectionString: string; schema: string; tablePrefix: string }
  | { kind: 'redis'; url: string; prefix: string };

export type OpenedBackend = StorageAdapter & { setup(): Promise<void>; close(): Promise<void> };

/** Opens the storage a spec names (in the test process and in spawned servers alike). */
export function openBackend(spec: BackendSpec): OpenedBackend {
  switch (spec.kind) {
    case 'sqlite':
      return new SqliteBackend({ path: spec.path });
    case 'postgres':
      return new PostgresBackend({ connectionString: spec.connectionString, schema: spec.schema, tablePrefix: spec.tablePrefix });
    case 'redis':
      return new RedisBackend({ url: spec.url, prefix: spec.prefix });
  }
}

export { DATABASE_URL, REDIS_URL };

/** One backend the suite runs on: where each case's storage lives, and how it is removed afterwards. */
export interface BackendTarget {
  readonly label: string;
  /** Why the server cannot be used (outside CI the suite is skipped, loudly), or null. */
  readonly problem: string | null;
  /** Storage of its own for one test case (a file, a table prefix, a key prefix). */
  spec(caseName: string): BackendSpec;
  /** Removes everything the cases stored and closes every connection the target opened. */
  dispose(): Promise<void>;
}

const unique = () => `${process.pid}_${randomBytes(3).toString('hex')}`;
const identifier = (name: string) => name.replace(/[^A-Za-z0-9]/g, '_').slice(0, 30);

export function sqliteTarget(): BackendTarget {
  let dir: string | undefined; // made on first use, so a file that fails early leaves nothing behind
  return {
    label: 'SQLite file',
    problem: null,
    spec: (caseName) => ({ kind: 'sqlite', path: join((dir ??= mkdtempSync(join(tmpdir(), 'savepoint-runtime-mp-'))), `${identifier(caseName)}.db`) }),
    async dispose() {
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function postgresTarget(): BackendTarget {
  const problem = serverProblem('postgres', "the runtime's multi-process tests on PostgreSQL");
  const schema = `sp_runtime_mp_${unique()}`;
  return {
    label: 'PostgreSQL',
    problem,
    // One schema per test file, one table prefix per case: a case's reaper never meets another case's runs.
    spec: (caseName) => ({ kind: 'postgres', connectionString: DATABASE_URL, schema, tablePrefix: `${identifier(caseName)}_` }),
    async dispose() {
      if (problem !== null) return;
      const client = new pg.Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 5000 });
      client.on('error', () => undefined);
      try {
        await client.connect();
        await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await client.end().catch(() => undefined);
      }
    },
  };
}

export function redisTarget(): BackendTarget {
  const problem = serverProblem('redis', "the runtime's multi-process tests on Redis");
  const prefix = `sp-test:runtime-mp:${unique()}:`;
  return {
    label: 'Redis',
    problem,
    spec: (caseName) => ({ kind: 'redis', url: REDIS_URL, prefix: `${prefix}${identifier(caseName)}:` }),
    async dispose() {
      if (problem !== null) return;
      const client = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 3000, retryStrategy: () => null });
      client.on('error', () => undefined);
      try {
        await client.connect();
        await removeRedisKeys(client, prefix);
      } finally {
        client.disconnect();
      }
    },
  };
}
