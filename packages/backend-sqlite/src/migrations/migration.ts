import type { Database } from 'better-sqlite3';
import type { TableNames } from '../table-names.js';

/**
 * One schema step. Migrations are applied in array order, each exactly once, and recorded by `name`
 * in the migration table; a released migration is never edited, a new one is appended instead.
 */
export interface Migration {
  readonly name: string;
  up(db: Database, tables: TableNames): void;
}
