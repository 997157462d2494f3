import { randomBytes } from 'node:crypto';
import { link, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { errorCode } from './fs-errors.js';

const TEMP_SUFFIX = '.tmp';

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
 * Writes `data` to a new temp file next to `path` and (unless `sync` is false) fsyncs it, so that a later
 * rename or link publishes complete bytes only. Returns the temp path; the caller publishes or removes it.
 */
export async function writeDurableTemp(path: string, data: string, sync = true): Promise<string> {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`);
  const handle = await open(temp, 'wx');
  try {
    await handle.writeFile(data);
    if (sync) await handle.sync();
  } catch (error) {
    await handle.close();
    await removeQuietly(temp);
    throw error;
  }
  await handle.close();
  return temp;
}

/** Makes renames, links and unlinks inside `dir` durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Temp file + fsync + rename + directory fsync: readers see the old file or the new one, never a torn one.
 * With `durable: false` both fsyncs are skipped: still atomic for readers, but a machine crash may lose it.
 */
export async function writeFileAtomic(path: string, data: string, { durable = true } = {}): Promise<void> {
  const temp = await writeDurableTemp(path, data, durable);
  try {
    await rename(temp, path);
  } catch (error) {
    await removeQuietly(temp);
    throw error;
  }
  if (durable) await fsyncDir(dirname(path));
}

/**
 * Creates `path` holding `data` unless it exists; returns whether this call created it. Like `open(..., 'wx')`
 * only one of many racing creators wins, but the bytes are fsynced in a temp file and hard-linked into place,
 * so nobody ever reads a half-written file. The name itself is durable once the caller fsyncs the directory.
 */
export async function createOnce(path: string, data: string): Promise<boolean> {
  const temp = await writeDurableTemp(path, data);
  try {
    await link(temp, path);
    return true;
  } catch (error) {
    if (errorCode(error) !== 'EEXIST') throw error;
    return false;
  } finally {
    await removeQuietly(temp);
  }
}

/** `fsyncDir` for a directory that may not exist yet (nothing in it to make durable then). */
export async function fsyncDirIfExists(dir: string): Promise<void> {
  try {
    await fsyncDir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

/** Best-effort cleanup on an error path, where the original error is the one worth reporting. */
export async function removeQuietly(path: string): Promise<void> {
  await unlink(path).catch(() => undefined);
}
