import { sql } from 'kysely';
import type { Migration } from './migration.js';

// Keys compare byte-wise (COLLATE "C"): ids order the same way in every database, whatever its locale, and as
// in JavaScript; btree comparisons are also cheaper than locale-aware ones.
const KEY = sql`text COLLATE "C"`;

export const initialSchema: Migration = {
  name: '0001-initial-schema',
  async up(db, t) {
    const schema = db.schema.withSchema(t.schema);

    // Bodies are `text`, not JSONB: they are opaque (ciphertext when encrypted) and must come back byte for byte.
    await schema
      .createTable(t.headers)
      .addColumn('id', KEY, (c) => c.primaryKey())
      .addColumn('flow_id', KEY, (c) => c.notNull())
      .addColumn('workflow_id', KEY)
      .addColumn('run_id', KEY, (c) => c.notNull())
      .addColumn('seq', 'integer', (c) => c.notNull())
      .addColumn('parent_id', KEY)
      .addColumn('status', KEY, (c) => c.notNull())
      .addColumn('tenant_id', KEY)
      .addColumn('pending_input', 'boolean', (c) => c.notNull())
      // Epoch milliseconds; float8 holds every one exactly and comes back as a JS number.
      .addColumn('created_at', 'double precision', (c) => c.notNull())
      .addColumn('updated_at', 'double precision', (c) => c.notNull())
      .addColumn('body', 'text', (c) => c.notNull())
      .execute();
    const index = (name: string) => schema.createIndex(`${t.headers}_${name}`).on(t.headers);
    await index('flow').columns(['flow_id', 'id']).execute();
    await index('run_seq').unique().columns(['run_id', 'seq']).execute();
    await index('status').columns(['status', 'id']).execute();
    await index('tenant').columns(['tenant_id', 'id']).execute();
    await index('pending_input').column('id').where(sql<boolean>`pending_input`).execute();
    await index('created_at').column('created_at').execute();

    await schema
      .createTable(t.blobs)
      .addColumn('run_id', KEY, (c) => c.notNull())
      .addColumn('hash', KEY, (c) => c.notNull())
      .addColumn('data', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint(`${t.blobs}_pkey`, ['run_id', 'hash'])
      .execute();

    await schema
      .createTable(t.heads)
      .addColumn('run_id', KEY, (c) => c.primaryKey())
      .addColumn('checkpoint_id', KEY, (c) => c.notNull())
      .addColumn('seq', 'integer', (c) => c.notNull())
      .execute();

    // A released lease keeps its row (expires_at = -infinity) so the fencing token never goes back.
    // Expiry is judged by the database clock, never a worker's.
    await schema
      .createTable(t.leases)
      .addColumn('run_id', KEY, (c) => c.primaryKey())
      .addColumn('owner', 'text', (c) => c.notNull())
      .addColumn('token', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
      .execute();
  },
};
