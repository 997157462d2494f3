import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, fsync, fsyncSync, linkSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { errorCode } from './fs-errors.js';

const TEMP_SUFFIX = '.tmp';

// Files below this size are written with synchronous calls: a thread-pool hop per call costs more than the write
// itself. Larger ones go through the thread pool so that a big pack does not hold the event loop.
const SYNC_WRITE_LIMIT = 256 * 1024;

/** Temp files are hidden and carry a suffix so directory scans skip them and crash leftovers are easy to spot. */
export function isTempName(name: string): boolean {
  return name.startsWith('.') && name.endsWith(TEMP_SUFFIX);
}

/** Pid of the process that made a temp file (it is in the name), or null for a name not made here. */
export function tempOwner(name: string): number | null {
  const match = /\.(\d+)\.[0-9a-f]{12}\.tmp$/.exec(name);
  return match ? Number(match[1]) : null;
}

/**
 * Creates `path` (which must not exist) holding `data`, fsynced when `durable`, so that a later rename or link
 * publishes complete bytes only. A file that could not be written whole is removed.
 */
export async function writeNewFile(path: string, data: string, durable: boolean): Promise<void> {
  if (data.length < SYNC_WRITE_LIMIT) return writeNewFileSync(path, data, durable);
  const handle = await open(path, 'wx');
  try {
    await handle.writeFile(data);
    if (durable) await handle.sync();
  } catch (error) {
    await handle.close();
    removeQuietly(path);
    throw error;
  }
  await handle.close();
}

function writeNewFileSync(path: string, data: string, durable: boolean): void {
  const fd = openSync(path, 'wx');
  try {
    writeSync(fd, data);
    if (durable) fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    removeQuietly(path);
    throw error;
  }
  closeSync(fd);
}

/** fsyncs the file at `path` (one written without `durable`); in the thread pool when it is large. */
export async function syncFile(path: string): Promise<void> {
  const fd = openSync(path, 'r');
  try {
    if (fstatSync(fd).size < SYNC_WRITE_LIMIT) fsyncSync(fd);
    else await new Promise<void>((resolve, reject) => fsync(fd, (error) => (error ? reject(error) : resolve())));
  } finally {
    closeSync(fd);
  }
}

/** Makes renames, links and unlinks inside `dir` durable. */
export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * `fsyncDir` of each directory in the thread pool, while the caller goes on (typically to fsync a file on the main
 * thread): fsyncs that run together join one journal commit where those that run one after another each pay for
 * their own on a busy disk.
 */
export function fsyncDirsInBackground(dirs: readonly string[]): Promise<void> {
  const synced = Promise.all(
    dirs.map(
      (dir) =>
        new Promise<void>((resolve, reject) => {
          const fd = openSync(dir, 'r');
          fsync(fd, (error) => {
            closeSync(fd);
            if (error) reject(error);
            else resolve();
          });
        }),
    ),
  ).then(() => undefined);
  synced.catch(() => undefined); // a caller that fails before awaiting it reports its own error, not this one
  return synced;
}

/**
 * Creates `path` holding `data` unless it exists; returns whether this call created it. Like `open(..., 'wx')`
 * only one of many racing creators wins, but the bytes are fsynced in a temp file and hard-linked into place,
 * so nobody ever reads a half-written file. The name itself is durable once the caller fsyncs the directory.
 */
export async function createOnce(path: string, data: string): Promise<boolean> {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`);
  await writeNewFile(temp, data, true);
  try {
    return linkOnce(temp, path);
  } finally {
    removeQuietly(temp);
  }
}

/** Hard-links `target` at `path` unless `path` exists (exclusive, like `open(..., 'wx')`); false when it does. */
export function linkOnce(target: string, path: string): boolean {
  try {
    linkSync(target, path);
    return true;
  } catch (error) {
    if (errorCode(error) !== 'EEXIST') throw error;
    return false;
  }
}

/** Best-effort cleanup on an error path, where the original error is the one worth reporting. */
function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // see above
  }
}
