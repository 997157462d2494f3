import { BackendUnavailableError } from '@savepoint/core';
import { sql, type Kysely } from 'kysely';
import type { Migration } from './migrations/index.js';
import { advisoryLockKey, type TableNames } from './table-names.js';
import { transaction } from './transaction.js';

/**
 * Brings the schema up to date in one transaction, under a transaction-scoped advisory lock derived from the
 * schema and table prefix: processes starting together queue on the lock, and the later ones find every
 * migration recorded. DDL is transactional in PostgreSQL, so a failed migration leaves nothing half-applied.
 * Returns the names applied.
 */
export async function migrate(db: Kysely<any>, tables: TableNames, migrations: readonly Migration[]): Promise<string[]> {
  if (await upToDate(db, tables, migrations)) return [];
  return transaction(db, async (trx) => {
    await sql`SELECT pg_advisory_xact_lock(${advisoryLockKey(tables.schema, tables.prefix)}::bigint)`.execute(trx);
    const { rows: schemas } = await sql`SELECT 1 FROM pg_namespace WHERE nspname = ${tables.schema}`.execute(trx);
    if (schemas.length === 0) {
      // Concurrent CREATE SCHEMA IF NOT EXISTS can still fail on the catalog's unique index, so backends with
      // other prefixes creating the same schema queue on a lock of the schema alone.
      await sql`SELECT pg_advisory_xact_lock(${advisoryLockKey(tables.schema)}::bigint)`.execute(trx);
      await sql`CREATE SCHEMA IF NOT EXISTS ${tables.sql.schema}`.execute(trx);
    }
    await sql`CREATE TABLE IF NOT EXISTS ${tables.sql.migrations} (
      name text COLLATE "C" PRIMARY KEY,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`.execute(trx);
    const { rows } = await sql<{ name: string }>`SELECT name FROM ${tables.sql.migrations}`.execute(trx);
    const applied = new Set(rows.map((row) => row.name));
    const known = new Set(migrations.map((m) => m.name));
    const unknown = [...applied].filter((name) => !known.has(name));
    if (unknown.length > 0) {
      throw new BackendUnavailableError(
        `The PostgreSQL schema "${tables.schema}" (prefix "${tables.prefix}") was migrated by a newer @savepoint/backend-postgres (unknown migrations: ${unknown.join(', ')}); upgrade this package.`,
      );
    }
    const pending = migrations.filter((m) => !applied.has(m.name));
    for (const migration of pending) {
      await migration.up(trx, tables);
      await sql`INSERT INTO ${tables.sql.migrations} (name) VALUES (${migration.name})`.execute(trx);
    }
    return pending.map((m) => m.name);
  });
}

/**
 * Whether every migration is recorded already, found with reads alone: a role allowed to read and write the
 * tables but not to create any (migrations run by an administrator) then never reaches the DDL, which
 * PostgreSQL refuses to such a role even as `CREATE TABLE IF NOT EXISTS` of an existing table.
 */
async function upToDate(db: Kysely<any>, tables: TableNames, migrations: readonly Migration[]): Promise<boolean> {
  const qualified = `"${tables.schema}"."${tables.migrations}"`;
  const { rows: found } = await sql<{ exists: boolean }>`SELECT to_regclass(${qualified}) IS NOT NULL AS exists`.execute(db);
  if (!found[0]?.exists) return false;
  const { rows } = await sql<{ name: string }>`SELECT name FROM ${tables.sql.migrations}`.execute(db);
  const applied = new Set(rows.map((row) => row.name));
  return applied.size === migrations.length && migrations.every((m) => applied.has(m.name));
}
