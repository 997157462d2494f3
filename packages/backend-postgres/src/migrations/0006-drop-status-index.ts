import type { Migration } from './migration.js';

/**
 * Drops the header index on (status, id). No query of the store filters on status alone: `listByFlow` has the
 * flow index, and retention asks for several statuses created before a cutoff, which the creation-time index
 * serves. Every save paid for its upkeep all the same.
 */
export const dropStatusIndex: Migration = {
  name: '0006-drop-status-index',
  async up(db, t) {
    await db.schema.withSchema(t.schema).dropIndex(`${t.headers}_status`).ifExists().execute();
  },
};
