import Database from 'better-sqlite3';
import { BackendUnavailableError, SavepointError } from '@savepoint/core';

// Result codes meaning "the storage cannot be used right now" rather than "this call was wrong".
const UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|CANTOPEN|IOERR|FULL|READONLY|NOTADB|CORRUPT|PERM|PROTOCOL|NOMEM)/;

const HINTS: Record<string, string> = {
  BUSY: 'another connection held the write lock longer than busyTimeoutMs; raise busyTimeoutMs or shorten long transactions',
  LOCKED: 'the database is locked by another statement on the same connection',
  CANTOPEN: 'check that the path exists, is a file and is readable/writable by this process',
  READONLY: 'the database file or its directory is read-only; SQLite needs write access to both (WAL files)',
  FULL: 'the disk is full',
  NOTADB: 'the file is not a SQLite database',
  CORRUPT: 'the database file is damaged; restore it from a backup',
};

/**
 * Maps a better-sqlite3 failure to the typed error a user can act on. Typed Savepoint errors pass
 * through; anything unrecognised is rethrown untouched rather than mislabelled.
 */
export function toSavepointError(error: unknown, action: string, location: string): unknown {
  if (SavepointError.isInstance(error)) return error;
  if (error instanceof Database.SqliteError && UNAVAILABLE.test(error.code)) {
    const kind = error.code.replace(/^SQLITE_/, '').split('_')[0]!;
    const hint = HINTS[kind] ?? 'check the disk and the file permissions';
    return new BackendUnavailableError(`SQLite could not ${action} (${error.code} on ${location}): ${hint}.`, {
      cause: error,
    });
  }
  // better-sqlite3 reports a closed connection and a missing directory as plain TypeErrors.
  if (error instanceof TypeError && /database connection is not open|Cannot open database/.test(error.message)) {
    return new BackendUnavailableError(`SQLite could not ${action} on ${location}: ${error.message}.`, { cause: error });
  }
  return error;
}
