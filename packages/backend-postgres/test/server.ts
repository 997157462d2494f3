// The PostgreSQL server the tests run against, and a schema of their own inside it.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe } from '@jest/globals';
import pg from 'pg';

export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Probed once per test file, synchronously, so a missing server can skip (or fail) whole describe blocks. */
function probe(): string | null {
  const script = `const { Client } = require(${JSON.stringify(require.resolve('pg'))});
    const c = new Client({ connectionString: process.env.DATABASE_URL, connectionTimeoutMillis: 3000 });
    c.connect().then(() => c.end()).then(() => process.exit(0), (e) => { console.error(e.message); process.exit(1); });`;
  const result = spawnSync(process.execPath, ['-e', script], { env: { ...process.env, DATABASE_URL }, encoding: 'utf8', timeout: 10_000 });
  return result.status === 0 ? null : (result.stderr || result.error?.message || 'no answer').trim();
}

const problem = probe();
if (problem !== null) {
  const message = `PostgreSQL is not reachable at ${DATABASE_URL} (${problem}).`;
  if (process.env.CI) throw new Error(`${message} CI must start it (see .ci/run).`);
  console.warn(`\n!!! ${message} SKIPPING the PostgreSQL tests: set DATABASE_URL or start a server. !!!\n`);
}

/** `describe`, or `describe.skip` when no server answers outside CI. */
export const describePg: (name: string, fn: () => void) => void = problem === null ? describe : describe.skip;

/** A schema name unique to this process and call, e.g. `sp_conformance_1234_9f2c`. */
export function uniqueSchema(tag: string): string {
  return `sp_${tag}_${process.pid}_${randomBytes(3).toString('hex')}`;
}

/** A pool for the tests themselves (an 'error' listener, as every pg pool needs). */
export function testPool(options: pg.PoolConfig = {}): pg.Pool {
  const pool = new pg.Pool({ connectionString: DATABASE_URL, connectionTimeoutMillis: 5000, ...options });
  pool.on('error', () => undefined);
  return pool;
}

export async function dropSchema(pool: pg.Pool, schema: string): Promise<void> {
  await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
}
