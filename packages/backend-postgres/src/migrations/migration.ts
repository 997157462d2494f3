import type { Kysely } from 'kysely';
import type { TableNames } from '../table-names.js';

/**
 * One schema step, Kysely-style: `up` receives the migrating transaction and the physical names. Migrations run
 * in array order, each exactly once, and are recorded by `name` in the migration table; a released migration is
 * never edited, a new one is appended instead.
 */
export interface Migration {
  readonly name: string;
  up(db: Kysely<any>, tables: TableNames): Promise<void>;
}
