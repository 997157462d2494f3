import type { Migration } from './migration.js';

/** The runtime bridge's storage: a per-run event log and an input inbox keyed by idempotency key. */
export const eventLogAndInbox: Migration = {
  name: '0002-event-log-and-inbox',
  up(db, t) {
    db.exec(`
      CREATE TABLE ${t.events} (
        run_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        type TEXT NOT NULL,
        data TEXT NOT NULL,
        ts INTEGER NOT NULL,
        PRIMARY KEY (run_id, seq)
      );

      -- consumed_by is NULL until takeInputs hands the input to a worker.
      CREATE TABLE ${t.inputs} (
        run_id TEXT NOT NULL,
        key TEXT NOT NULL,
        node_path TEXT NOT NULL,
        value TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        consumed_by TEXT,
        consumed_at INTEGER,
        PRIMARY KEY (run_id, key)
      );
    `);
  },
};
