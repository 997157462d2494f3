import type { Migration } from './migration.js';

/**
 * Fewer B-trees touched per save (issue 10): every index on the headers table costs each checkpoint a page
 * write into the WAL and more bytes on disk.
 * - The run head is the header with the highest seq, which the unique (run_id, seq) index already answers, so
 *   the heads table (one more row write per save) goes.
 * - Tenant and pending-input lookups only ever ask for tenanted / waiting headers: partial indexes hold just those.
 * - Retention's `created_at < ?` always comes with a status filter, which the status index serves.
 */
export const leanHeaderIndexes: Migration = {
  name: '0003-lean-header-indexes',
  up(db, t) {
    db.exec(`
      DROP TABLE ${t.heads};
      DROP INDEX ${t.headers}_created_at;
      DROP INDEX ${t.headers}_tenant;
      CREATE INDEX ${t.headers}_tenant ON ${t.headers} (tenant_id, id) WHERE tenant_id IS NOT NULL;
      DROP INDEX ${t.headers}_pending_input;
      CREATE INDEX ${t.headers}_pending_input ON ${t.headers} (id) WHERE pending_input = 1;
    `);
  },
};
