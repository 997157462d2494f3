import { BackendUnavailableError, SavepointError } from '@savepoint/core';

// Result codes meaning "the storage cannot be used right now" rather than "this call was wrong".
const UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|CANTOPEN|IOERR|FULL|READONLY|NOTADB|CORRUPT|PERM|PROTOCOL|NOMEM)/;

// Node's codes for a directory that cannot be created where the database should go.
const FILE_SYSTEM = /^E(ACCES|PERM|ROFS|NOTDIR|NOSPC|NOENT|EXIST|IO|NAMETOOLONG|LOOP|DQUOT)$/;
// mkdir's codes for a regular file where a directory of the database's path should be.
const FILE_IN_THE_WAY = new Set(['EEXIST', 'ENOTDIR']);

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
 * The SQLite result code of a better-sqlite3 error. Read by shape, not `instanceof SqliteError`: the
 * native addon keeps the error class of the first copy of better-sqlite3 loaded in the process.
 */
export function sqliteCode(error: unknown): string | undefined {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' && code.startsWith('SQLITE_') ? code : undefined;
}

/** A `BackendUnavailableError` with the database's location on it: error bodies and logs that show messages don't carry it. */
type SqliteUnavailableError = BackendUnavailableError & { readonly location: string };

function unavailable(message: string, location: string, cause: unknown): SqliteUnavailableError {
  return Object.assign(new BackendUnavailableError(message, { cause }), { location });
}

/**
 * Maps a better-sqlite3 failure to the typed error a user can act on. Typed Savepoint errors pass
 * through; anything unrecognised is rethrown untouched rather than mislabelled. `location` (the file) goes on
 * the error's `location` property, not into its message.
 */
export function toSavepointError(error: unknown, action: string, location: string): unknown {
  if (SavepointError.isInstance(error)) return error;
  const code = sqliteCode(error);
  if (code !== undefined && UNAVAILABLE.test(code)) {
    const kind = code.replace(/^SQLITE_/, '').split('_')[0]!;
    const hint = HINTS[kind] ?? 'check the disk and the file permissions';
    return unavailable(`SQLite could not ${action} (${code}): ${hint}.`, location, error);
  }
  // Creating the database's directory failed (a file in the way, no permission, a read-only or full disk).
  const systemCode = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  if (typeof systemCode === 'string' && FILE_SYSTEM.test(systemCode)) {
    const hint = FILE_IN_THE_WAY.has(systemCode)
      ? 'a part of its path is a regular file, not a directory; move that file away or choose another path'
      : 'check that its parent path is a writable directory with free space';
    return unavailable(
      `SQLite could not ${action}: the database's directory could not be created (${systemCode}); ${hint} (the database path is on this error's location).`,
      location,
      error,
    );
  }
  // better-sqlite3 reports a closed connection and a missing directory as plain TypeErrors (matched by
  // message: `instanceof TypeError` fails across realms). Their messages name no path.
  const message = typeof error === 'object' && error !== null ? String((error as { message?: unknown }).message) : '';
  if (/database connection is not open|Cannot open database/.test(message)) {
    return unavailable(`SQLite could not ${action}: ${message}.`, location, error);
  }
  return error;
}
