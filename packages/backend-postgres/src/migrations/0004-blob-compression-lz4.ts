import { sql } from 'kysely';
import type { Migration } from './migration.js';

/**
 * Large blobs are compressed by TOAST; with the default pglz that compression was most of the server's time in
 * a multi-megabyte save. lz4 (PostgreSQL 14+, when the server was built with it) compresses JSON as well, several
 * times faster. Only new values use it: stored blobs stay pglz, and PostgreSQL reads both. A server without lz4
 * (older, or built without it) keeps pglz: the statement is skipped, not failed.
 */
export const blobCompressionLz4: Migration = {
  name: '0004-blob-compression-lz4',
  async up(db, t) {
    // Run through EXECUTE, so that a server that cannot parse it fails inside the block, where it is caught.
    const alter = `ALTER TABLE ${t.sql.blobs.compile(db).sql} ALTER COLUMN data SET COMPRESSION lz4`;
    await sql`DO $do$
      BEGIN
        EXECUTE ${sql.lit(alter)};
      EXCEPTION WHEN syntax_error OR feature_not_supported THEN
        NULL; -- PostgreSQL 13 or older (no SET COMPRESSION), or a server built without lz4
      END
      $do$`.execute(db);
  },
};
