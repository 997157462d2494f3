// The PostgreSQL server the tests run against, and a schema of their own inside it.
import { randomBytes } from 'node:crypto';
import { describe } from '@jest/globals';
import { DATABASE_URL, serverProblem } from '@savepoint/test-servers';
import pg from 'pg';

export { DATABASE_URL };

const problem = serverProblem('postgres', 'the PostgreSQL tests');

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
