import { BackendUnavailableError, SavepointError } from '@savepoint/core';

// Conditions the caller cannot fix by retrying the same call differently: the disk, not the data. ENOENT and
// ENOTDIR reach this point only when the store's directory itself is missing or unreachable (a removed
// directory is recreated once first, and expected misses are handled where they happen).
const UNAVAILABLE_CODES = new Set(['ENOSPC', 'EDQUOT', 'EACCES', 'EPERM', 'EROFS', 'EIO', 'EMFILE', 'ENFILE', 'ENOENT', 'ENOTDIR', 'EBUSY']);

export function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null ? (error as NodeJS.ErrnoException).code : undefined;
}

export function isMissing(error: unknown): boolean {
  return errorCode(error) === 'ENOENT';
}

/** Turns disk-level failures into `BackendUnavailableError`; typed Savepoint errors and bugs pass through. */
export function toBackendError(error: unknown, action: string, dir: string): unknown {
  if (SavepointError.isInstance(error)) return error;
  const code = errorCode(error);
  if (code === undefined || !UNAVAILABLE_CODES.has(code)) return error;
  return new BackendUnavailableError(
    `The file backend could not ${action} (${code}). Check that ${dir} exists, is writable by this process and has free space.`,
    { cause: error },
  );
}
