import { describe, expect, it } from '@jest/globals';
import { BackendUnavailableError, NotFoundError } from '@savepoint/core';
import { toBackendError } from '../src/fs-errors.js';

const errno = (code: string, fields: Record<string, string> = {}) => Object.assign(new Error(`${code}: failed`), { code, ...fields });

describe('toBackendError', () => {
  it.each(['ENOSPC', 'EDQUOT', 'EACCES', 'EPERM', 'EIO', 'EROFS', 'EMFILE', 'ENFILE', 'ENOENT', 'ENOTDIR', 'ENAMETOOLONG', 'ELOOP', 'EBUSY'])(
    'turns %s into BackendUnavailableError naming the directory and what to do',
    (code) => {
      const cause = errno(code);
      const mapped = toBackendError(cause, 'write blobs', '/data/checkpoints');
      expect(mapped).toBeInstanceOf(BackendUnavailableError);
      expect((mapped as Error).message).toContain('/data/checkpoints');
      expect((mapped as Error).message).toContain(code);
      expect((mapped as Error).message).toMatch(/; [a-z ()]+/);
      expect((mapped as BackendUnavailableError).cause).toBe(cause);
    },
  );

  it('names the path that failed when the error has one', () => {
    const mapped = toBackendError(errno('ENOTDIR', { syscall: 'mkdir', path: '/data/file/runs' }), 'write blobs', '/data/file');
    expect((mapped as Error).message).toMatch(/^The file backend could not write blobs: \/data\/file\/runs \(ENOTDIR\): a part of that path is a regular file/);
  });

  it("turns mkdir's EEXIST (a file where a directory belongs) into BackendUnavailableError", () => {
    const mapped = toBackendError(errno('EEXIST', { syscall: 'mkdir', path: '/data/runs' }), 'create its directories', '/data');
    expect(BackendUnavailableError.isInstance(mapped)).toBe(true);
    expect((mapped as Error).message).toContain('/data/runs (EEXIST): a regular file is where the store needs a directory');
  });

  it('passes typed errors, other errno codes (EEXIST of anything but mkdir) and plain values through', () => {
    const typed = new NotFoundError('gone');
    expect(toBackendError(typed, 'read', '/d')).toBe(typed);
    const other = errno('EEXIST', { syscall: 'open' });
    expect(toBackendError(other, 'read', '/d')).toBe(other);
    expect(toBackendError('text', 'read', '/d')).toBe('text');
  });
});
