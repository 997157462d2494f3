// The shared backends the multi-process tests run on: one SQLite file, one PostgreSQL schema, one Redis key
// prefix. A `BackendSpec` is plain JSON so a spawned server can open the same storage as the test process.
// The runtime itself never imports a concrete backend: only these tests do.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PostgresBackend } from '@savepoint/backend-postgres';
import { RedisBackend } from '@savepoint/backend-redis';
import { SqliteBackend } from '@savepoint/backend-sqlite';
import type { StorageAdapter } from '@savepoint/core';
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

export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0';

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

/** Probes a server synchronously in a child process, so a missing one can skip (or fail) whole describe blocks. */
function probe(script: string, env: Record<string, string>): string | null {
  const result = spawnSync(process.execPath, ['-e', script], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 10_000 });
  return result.status === 0 ? null : (result.stderr || result.error?.message || 'no answer').trim();
}

function report(what: string, url: string, problem: string | null): string | null {
  if (problem === null) return null;
  const message = `${what} is not reachable at ${url} (${problem}).`;
  if (process.env.CI) throw new Error(`${message} CI must start it.`);
  console.warn(`\n!!! ${message} SKIPPING the runtime's multi-process tests on ${what}: start a server or set its URL. !!!\n`);
  return message;
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
  const problem = report(
    'PostgreSQL',
    DATABASE_URL,
    probe(
      `const { Client } = require(${JSON.stringify(require.resolve('pg'))});
      const c = new Client({ connectionString: process.env.DATABASE_URL, connectionTimeoutMillis: 3000 });
      c.connect().then(() => c.end()).then(() => process.exit(0), (e) => { console.error(e.message); process.exit(1); });`,
      { DATABASE_URL },
    ),
  );
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
  const problem = report(
    'Redis',
    REDIS_URL,
    probe(
      `const { Redis } = require(${JSON.stringify(require.resolve('ioredis'))});
      const r = new Redis(process.env.REDIS_URL, { lazyConnect: true, connectTimeout: 3000, maxRetriesPerRequest: 0, retryStrategy: () => null });
      r.on('error', () => {});
      r.connect().then(() => r.ping()).then(() => r.quit()).then(() => process.exit(0), (e) => { console.error(e.message); process.exit(1); });`,
      { REDIS_URL },
    ),
  );
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
        let cursor = '0';
        do {
          const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
          cursor = next;
          if (keys.length > 0) await client.unlink(...keys);
        } while (cursor !== '0');
      } finally {
        client.disconnect();
      }
    },
  };
}
