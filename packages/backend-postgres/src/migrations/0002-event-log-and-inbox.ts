import { sql } from 'kysely';
import type { Migration } from './migration.js';

// As in 0001: keys compare byte-wise, whatever the database locale.
const KEY = sql`text COLLATE "C"`;

/** The runtime bridge's storage: each run's event log (with its seq counter) and its input inbox. */
export const eventLogAndInbox: Migration = {
  name: '0002-event-log-and-inbox',
  async up(db, t) {
    const schema = db.schema.withSchema(t.schema);

    // Event data is `text`, not JSONB, for the same reason as header bodies: it comes back byte for byte.
    await schema
      .createTable(t.events)
      .addColumn('run_id', KEY, (c) => c.notNull())
      .addColumn('seq', 'bigint', (c) => c.notNull())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('data', 'text', (c) => c.notNull())
      // Epoch milliseconds, as every time column here.
      .addColumn('ts', 'double precision', (c) => c.notNull())
      .addPrimaryKeyConstraint(`${t.events}_pkey`, ['run_id', 'seq'])
      .execute();

    // The last seq handed out per run. Its row is locked by each append until the commit, which is what makes
    // seqs gap-free under concurrent appenders; it outlives trimmed events, so a seq is never reused.
    await schema
      .createTable(t.eventSeqs)
      .addColumn('run_id', KEY, (c) => c.primaryKey())
      .addColumn('seq', 'bigint', (c) => c.notNull())
      .execute();

    await schema
      .createTable(t.inputs)
      .addColumn('run_id', KEY, (c) => c.notNull())
      .addColumn('key', KEY, (c) => c.notNull())
      .addColumn('node_path', 'text', (c) => c.notNull())
      .addColumn('value', 'text', (c) => c.notNull())
      .addColumn('created_at', 'double precision', (c) => c.notNull())
      .addColumn('consumed_by', 'text')
      .addColumn('consumed_at', 'double precision')
      .addPrimaryKeyConstraint(`${t.inputs}_pkey`, ['run_id', 'key'])
      .execute();
  },
};
