import type { Database } from 'better-sqlite3';
import { BackendUnavailableError } from '@savepoint/core';
import type { Migration } from './migrations/index.js';
import type { TableNames } from './table-names.js';

/**
 * Brings the schema up to date in one IMMEDIATE transaction: concurrent processes starting together
 * queue on the write lock, and the second one finds everything already recorded. Returns the names applied.
 */
export function migrate(db: Database, tables: TableNames, migrations: readonly Migration[], now: number): string[] {
  const apply = db.transaction((): string[] => {
    db.exec(
      `CREATE TABLE IF NOT EXISTS ${tables.migrations} (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)`,
    );
    const applied = new Set(
      db
        .prepare(`SELECT name FROM ${tables.migrations}`)
        .pluck()
        .all() as string[],
    );
    const known = new Set(migrations.map((m) => m.name));
    const unknown = [...applied].filter((name) => !known.has(name));
    if (unknown.length > 0) {
      throw new BackendUnavailableError(
        `The SQLite database was migrated by a newer @savepoint/backend-sqlite (unknown migrations: ${unknown.join(', ')}); upgrade this package.`,
      );
    }
    const record = db.prepare(`INSERT INTO ${tables.migrations} (name, applied_at) VALUES (?, ?)`);
    const pending = migrations.filter((m) => !applied.has(m.name));
    for (const migration of pending) {
      migration.up(db, tables);
      record.run(migration.name, now);
    }
    return pending.map((m) => m.name);
  });
  return apply.immediate();
}
