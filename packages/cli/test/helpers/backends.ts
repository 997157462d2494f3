import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StorageAdapter } from '@savepoint/core';
import { SqliteBackend } from '@savepoint/backend-sqlite';
import { PostgresBackend } from '@savepoint/backend-postgres';
import { RedisBackend } from '@savepoint/backend-redis';
import { DATABASE_URL, REDIS_URL, removeRedisKeys } from '@savepoint/test-servers';
import pg from 'pg';
import { Redis } from 'ioredis';

/** One store for one test file: how the CLI reaches it, how a test opens it, and how to damage one blob. */
export interface TestBackend {
  name: string;
  /** CLI arguments naming the backend (URL plus its flags). */
  args: string[];
  /** The backend as the fixture workflows build it (`{ kind, options }`). */
  fixture: { kind: string; options: Record<string, unknown> };
  open(): StorageAdapter;
  /** Changes one character of one blob of the run; resolves with nothing when the run has no blob. */
  corruptBlob(runId: string): Promise<void>;
  dispose(): Promise<void>;
}

const unique = () => `${process.pid}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;

/** One character changed, so the stored text no longer matches its hash. */
const flip = (data: string) => (data[0] === 'x' ? 'y' : 'x') + data.slice(1);

export function sqliteBackend(): TestBackend {
  const dir = mkdtempSync(join(tmpdir(), 'savepoint-cli-'));
  const path = join(dir, 'app.db');
  return {
    name: 'sqlite',
    args: ['--backend', `sqlite:${path}`],
    fixture: { kind: 'sqlite', options: { path } },
    open: () => new SqliteBackend({ path }),
    async corruptBlob(runId) {
      const Database = createRequire(require.resolve('@savepoint/backend-sqlite/package.json'))('better-sqlite3');
      const db = new Database(path);
      try {
        const row = db.prepare('SELECT hash, data FROM savepoint_blobs WHERE run_id = ? ORDER BY hash LIMIT 1').get(runId);
        db.prepare('UPDATE savepoint_blobs SET data = ? WHERE run_id = ? AND hash = ?').run(flip(row.data), runId, row.hash);
      } finally {
        db.close();
      }
    },
    async dispose() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function postgresBackend(): TestBackend {
  const schema = `cli_test_${unique()}`;
  const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 2, connectionTimeoutMillis: 5000 });
  pool.on('error', () => undefined);
  return {
    name: 'postgres',
    args: ['--backend', DATABASE_URL, '--schema', schema],
    fixture: { kind: 'postgres', options: { connectionString: DATABASE_URL, schema } },
    open: () => new PostgresBackend({ connectionString: DATABASE_URL, schema }),
    async corruptBlob(runId) {
      const { rows } = await pool.query<{ hash: string; data: string }>(`SELECT hash, data FROM "${schema}".savepoint_blobs WHERE run_id = $1 ORDER BY hash LIMIT 1`, [runId]);
      await pool.query(`UPDATE "${schema}".savepoint_blobs SET data = $1 WHERE run_id = $2 AND hash = $3`, [flip(rows[0]!.data), runId, rows[0]!.hash]);
    },
    async dispose() {
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await pool.end();
    },
  };
}

export function redisBackend(): TestBackend {
  const prefix = `cli-test:${unique()}:`;
  const client = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  return {
    name: 'redis',
    args: ['--backend', REDIS_URL, '--prefix', prefix],
    fixture: { kind: 'redis', options: { url: REDIS_URL, prefix } },
    open: () => new RedisBackend({ url: REDIS_URL, prefix }),
    async corruptBlob(runId) {
      const key = `${prefix}{${runId}}:blobs`;
      const [hash] = (await client.hkeys(key)).sort();
      const data = (await client.hget(key, hash!))!;
      await client.hset(key, hash!, flip(data));
    },
    async dispose() {
      await removeRedisKeys(client, prefix);
      client.disconnect();
    },
  };
}
