import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

const TEMP_SUFFIX = '.tmp';

/** Temp files are hidden and carry a suffix so directory scans skip them and crash leftovers are easy to spot. */
export function isTempName(name: string): boolean {
  return name.startsWith('.') && name.endsWith(TEMP_SUFFIX);
}

/**
 * Writes `data` to a new temp file next to `path` and fsyncs it, so that a later rename or link
 * publishes complete bytes only. Returns the temp path; the caller publishes or removes it.
 */
export async function writeDurableTemp(path: string, data: string): Promise<string> {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`);
  const handle = await open(temp, 'wx');
  try {
    await handle.writeFile(data);
    await handle.sync();
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

/** Temp file + fsync + rename + directory fsync: readers see the old file or the new one, never a torn one. */
export async function writeFileAtomic(path: string, data: string): Promise<void> {
  const temp = await writeDurableTemp(path, data);
  try {
    await rename(temp, path);
  } catch (error) {
    await removeQuietly(temp);
    throw error;
  }
  await fsyncDir(dirname(path));
}

/** Best-effort cleanup on an error path, where the original error is the one worth reporting. */
export async function removeQuietly(path: string): Promise<void> {
  await unlink(path).catch(() => undefined);
}
