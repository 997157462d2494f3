import { sql, type Kysely } from 'kysely';

const ignore = () => undefined;

/**
 * Runs `fn` in a transaction on one pinned connection. Unlike Kysely's `transaction()`, a failed ROLLBACK (the
 * connection is gone) never replaces the error that caused it, so the caller sees the server's real reason.
 */
export async function transaction<T>(db: Kysely<any>, fn: (trx: Kysely<any>) => Promise<T>): Promise<T> {
  return db.connection().execute(async (conn) => {
    await sql`BEGIN`.execute(conn);
    let result: T;
    try {
      result = await fn(conn);
    } catch (error) {
      await sql`ROLLBACK`.execute(conn).catch(ignore);
      throw error;
    }
    await sql`COMMIT`.execute(conn);
    return result;
  });
}
