import { execFile } from 'node:child_process';
import { open } from 'node:fs/promises';
import { promisify } from 'node:util';
import { makeTempDir, removeDir } from './temp-dir.js';

const run = promisify(execFile);

/**
 * Mount tests need root (CI runs as root). Without it they must not pass silently: locally they warn loudly
 * and return, and under CI they fail.
 */
export function canMount(what: string): boolean {
  if (process.getuid?.() === 0) return true;
  const message = `${what} needs root to mount a tmpfs, so it was NOT RUN here.`;
  if (process.env.CI !== undefined && !['', '0', 'false'].includes(process.env.CI)) {
    throw new Error(`${message} CI must run the file backend's tests as root.`);
  }
  console.warn(`\n!!! ${message} Run it as root (CI does).\n`);
  return false;
}

/** Runs `work` on a fresh tmpfs of `size` (e.g. `2m`), unmounted afterwards whatever happens. */
export async function withTmpfs(size: string, work: (mountPoint: string) => Promise<void>): Promise<void> {
  const mountPoint = await makeTempDir();
  await run('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', mountPoint]);
  try {
    await work(mountPoint);
  } finally {
    // Lazy: a background retry of this backend may briefly hold a file open there.
    await run('umount', ['-l', mountPoint]);
    await removeDir(mountPoint);
  }
}

export async function remount(mountPoint: string, mode: 'ro' | 'rw'): Promise<void> {
  await run('mount', ['-o', `remount,${mode}`, mountPoint]);
}

/** Writes `path` until the file system is full (ENOSPC); returns the bytes written. */
export async function fillUp(path: string): Promise<number> {
  const handle = await open(path, 'w');
  let written = 0;
  try {
    for (const size of [65_536, 4_096, 512, 1]) {
      const chunk = Buffer.alloc(size, 0x61);
      for (;;) {
        try {
          written += (await handle.write(chunk)).bytesWritten;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
          break;
        }
      }
    }
  } finally {
    await handle.close();
  }
  return written;
}
