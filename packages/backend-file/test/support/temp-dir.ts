import { mkdtemp, rm } from 'node:fs/promises';
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
