import { describe, expect, it } from '@jest/globals';
import { BackendUnavailableError, NotFoundError } from '@savepoint/core';
import { toBackendError } from '../src/fs-errors.js';

const errno = (code: string) => Object.assign(new Error(`${code}: failed`), { code });

describe('toBackendError', () => {
  it.each(['ENOSPC', 'EACCES', 'EIO', 'EROFS', 'ENOENT', 'ENOTDIR'])('turns %s into BackendUnavailableError naming the directory', (code) => {
    const cause = errno(code);
    const mapped = toBackendError(cause, 'write blobs', '/data/checkpoints');
    expect(mapped).toBeInstanceOf(BackendUnavailableError);
    expect((mapped as Error).message).toContain('/data/checkpoints');
    expect((mapped as Error).message).toContain(code);
    expect((mapped as BackendUnavailableError).cause).toBe(cause);
  });

  it('passes typed errors, other errno codes and plain values through', () => {
    const typed = new NotFoundError('gone');
    expect(toBackendError(typed, 'read', '/d')).toBe(typed);
    const other = errno('EEXIST');
    expect(toBackendError(other, 'read', '/d')).toBe(other);
    expect(toBackendError('text', 'read', '/d')).toBe('text');
  });
});
