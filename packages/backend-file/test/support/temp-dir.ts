import { mkdtemp, rm } from 'node:fs/promises';
import { afterEach, beforeEach } from '@jest/globals';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileBackend, type FileBackendOptions } from '../../src/index.js';

export async function makeTempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'savepoint-file-'));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** A set-up backend in its own temp directory. */
export async function makeBackend(options: Omit<FileBackendOptions, 'dir'> = {}): Promise<FileBackend> {
  const backend = new FileBackend({ ...options, dir: await makeTempDir() });
  await backend.setup();
  return backend;
}

/**
 * A set-up backend for each test of the enclosing `describe` (closed and removed after it), with the directory of
 * its run `run-1`: read `backend` and `runDir` inside the tests.
 */
export function backendPerTest(options: Omit<FileBackendOptions, 'dir'> = {}): { readonly backend: FileBackend; readonly runDir: string } {
  const current = {} as { backend: FileBackend; runDir: string };
  beforeEach(async () => {
    current.backend = await makeBackend(options);
    current.runDir = join(current.backend.dir, 'runs', 'run-1');
  });
  afterEach(async () => {
    await current.backend.close();
    await removeDir(current.backend.dir);
  });
  return current;
}
