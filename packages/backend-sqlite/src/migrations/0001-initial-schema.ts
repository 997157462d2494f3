import type { Migration } from './migration.js';

export const initialSchema: Migration = {
  name: '0001-initial-schema',
  up(db, t) {
    db.exec(`
      CREATE TABLE ${t.headers} (
        id TEXT PRIMARY KEY,
        flow_id TEXT NOT NULL,
        workflow_id TEXT,
        run_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        parent_id TEXT,
        status TEXT NOT NULL,
        tenant_id TEXT,
        pending_input INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        body TEXT NOT NULL
      );
      CREATE INDEX ${t.headers}_flow ON ${t.headers} (flow_id, id);
      CREATE UNIQUE INDEX ${t.headers}_run_seq ON ${t.headers} (run_id, seq);
      CREATE INDEX ${t.headers}_status ON ${t.headers} (status, id);
      CREATE INDEX ${t.headers}_tenant ON ${t.headers} (tenant_id, id);
      CREATE INDEX ${t.headers}_pending_input ON ${t.headers} (pending_input, id);
      CREATE INDEX ${t.headers}_created_at ON ${t.headers} (created_at);

      CREATE TABLE ${t.blobs} (
        run_id TEXT NOT NULL,
        hash TEXT NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (run_id, hash)
      );

      CREATE TABLE ${t.heads} (
        run_id TEXT PRIMARY KEY,
        checkpoint_id TEXT NOT NULL,
        seq INTEGER NOT NULL
      );

      -- A released lease keeps its row (expires_at = 0) so the fencing token never goes back.
      CREATE TABLE ${t.leases} (
        run_id TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        token INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      );
    `);
  },
};
