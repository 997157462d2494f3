import { BackendUnavailableError, SavepointError } from '@savepoint/core';

// Conditions the caller cannot fix by retrying the same call differently: the disk, not the data. ENOENT and
// ENOTDIR reach this point only when the store's directory itself is missing or unreachable (a removed
// directory is recreated once first, and expected misses are handled where they happen). What to do about each:
const HINTS: Record<string, string> = {
  ENOSPC: 'the disk is full; free space',
  EDQUOT: "the user's disk quota is used up; free space or raise the quota",
  EACCES: 'this process may not read or write there; fix the permissions or run as the directory owner',
  EPERM: 'this process may not read or write there; fix the permissions or run as the directory owner',
  EROFS: 'the file system is read-only; mount it read-write or choose another dir',
  EIO: 'the disk reported an I/O error; check the disk',
  EMFILE: 'this process has too many open files; raise its limit (ulimit -n)',
  ENFILE: 'the system has too many open files; raise its limit',
  ENOENT: 'a directory of the store is missing and could not be created; check that dir exists',
  ENOTDIR: 'a part of that path is a regular file, not a directory; move that file away or choose another dir',
  ENAMETOOLONG: 'the path is too long for the file system; choose a shorter dir',
  ELOOP: 'symbolic links in that path form a loop; fix the links or choose another dir',
  EBUSY: 'the file is busy (locked by another program); retry, or stop that program',
};

// mkdir's EEXIST: a regular file sits where the store needs a directory. Any other EEXIST is an expected
// race handled where it happens, so one that escapes is a bug and passes through.
const FILE_IN_THE_WAY = 'a regular file is where the store needs a directory; move that file away or choose another dir';

export function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null ? (error as NodeJS.ErrnoException).code : undefined;
}

export function isMissing(error: unknown): boolean {
  return errorCode(error) === 'ENOENT';
}

/**
 * Turns disk-level failures into `BackendUnavailableError` naming the path that failed (else the store's directory)
 * and what to do; typed Savepoint errors and bugs pass through.
 */
export function toBackendError(error: unknown, action: string, dir: string): unknown {
  if (SavepointError.isInstance(error)) return error;
  const code = errorCode(error);
  const { syscall, path } = (typeof error === 'object' && error !== null ? error : {}) as NodeJS.ErrnoException;
  const hint = code === undefined ? undefined : code === 'EEXIST' && syscall === 'mkdir' ? FILE_IN_THE_WAY : HINTS[code];
  if (hint === undefined) return error;
  return new BackendUnavailableError(`The file backend could not ${action}: ${path ?? dir} (${code}): ${hint}. The store's dir is ${dir}.`, {
    cause: error,
  });
}
