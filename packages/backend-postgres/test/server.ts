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

/**
 * Drops the tables and functions of one table prefix. Suites that give every test its own prefix in a shared
 * schema call it after each test: a schema that piles up thousands of relations needs as many locks to drop at
 * once, more than PostgreSQL's default lock table holds while other suites share the server.
 */
export async function dropPrefix(pool: pg.Pool, schema: string, prefix: string): Promise<void> {
  const owned = (column: string) => `left(${column}, length($2)) = $2`;
  const { rows: tables } = await pool.query<{ name: string }>(
    `SELECT tablename AS name FROM pg_tables WHERE schemaname = $1 AND ${owned('tablename')}`,
    [schema, prefix],
  );
  const { rows: functions } = await pool.query<{ name: string }>(
    `SELECT p.oid::regprocedure::text AS name FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = $1 AND ${owned('p.proname')}`,
    [schema, prefix],
  );
  if (tables.length > 0) await pool.query(`DROP TABLE IF EXISTS ${tables.map((t) => `"${schema}"."${t.name}"`).join(', ')} CASCADE`);
  for (const { name } of functions) await pool.query(`DROP FUNCTION IF EXISTS ${name}`);
}
