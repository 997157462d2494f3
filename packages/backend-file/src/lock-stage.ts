import { randomBytes } from 'node:crypto';
import { open, readdir, rename, rmdir, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fsyncDir, removeQuietly } from './atomic-write.js';
import { unlinkIfExists } from './fs-entries.js';
import { errorCode, isMissing } from './fs-errors.js';

/**
 * The private directory of one holding of a run lock: the fence that makes a stalled writer harmless.
 *
 * Every change a lock holder makes to the run goes through its stage: new files (headers, the lease, event
 * segments) are written into the stage and published with one `rename` out of it; a header is deleted by
 * renaming it into the stage first. Whoever breaks a lock as stale destroys the holder's stage (empties it
 * and removes the directory) before it reads anything. The kernel orders a rename out of (or into) a
 * directory and the unlinks/rmdir of that directory's entries, so every change of the stalled holder either
 * happened before the break completed, and the breaker sees it, or fails with `ENOENT`: the check a holder
 * made under the lock and its publish can no longer be separated by another writer. A stage is never created
 * again under the same name, so a stalled holder cannot find its way into anyone else's.
 */
export class Stage {
  constructor(readonly dir: string) {}

  /** Moves a file written outside (e.g. fsynced before the lock was taken) into the stage. */
  async adopt(temp: string): Promise<string> {
    const staged = this.newPath();
    try {
      await rename(temp, staged);
    } catch (error) {
      await removeQuietly(temp);
      throw error;
    }
    return staged;
  }

  /** Writes `data` into a new staged file, fsynced when `durable`, and returns its path. */
  async write(data: string, durable: boolean): Promise<string> {
    const staged = this.newPath();
    const handle = await open(staged, 'wx');
    try {
      await handle.writeFile(data);
      if (durable) await handle.sync();
    } finally {
      await handle.close();
    }
    return staged;
  }

  /** Publishes a staged file at `path` (replacing what is there): the one step that fails once the holding is broken. */
  async publish(staged: string, path: string): Promise<void> {
    await rename(staged, path);
  }

  /** `write` + `publish`, then (when `durable`) an fsync of the directory that received it. */
  async writeFile(path: string, data: string, durable = true): Promise<void> {
    await this.publish(await this.write(data, durable), path);
    if (durable) await fsyncDir(dirname(path));
  }

  /** Removes `path` by moving it into the stage first, so a broken holding removes nothing; false when it was missing. */
  async remove(path: string): Promise<boolean> {
    const staged = this.newPath();
    try {
      await rename(path, staged);
    } catch (error) {
      if (isMissing(error) && (await this.intact())) return false;
      throw error;
    }
    await unlink(staged);
    return true;
  }

  /** Whether the stage still exists, i.e. nobody broke this holding. */
  async intact(): Promise<boolean> {
    try {
      await stat(this.dir);
      return true;
    } catch (error) {
      if (isMissing(error)) return false;
      throw error;
    }
  }

  private newPath(): string {
    return join(this.dir, randomBytes(8).toString('hex'));
  }
}

/**
 * Empties and removes a stage directory; false when it was already gone. Loops because a stalled holder that
 * wakes up may add an entry between the listing and the `rmdir`; once the `rmdir` succeeds, nothing can
 * enter or leave the directory again. An entry that cannot be removed throws, so the loop cannot spin.
 */
export async function destroyStage(dir: string): Promise<boolean> {
  for (;;) {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (error) {
      if (isMissing(error)) return false;
      throw error;
    }
    await Promise.all(names.map((name) => unlinkIfExists(join(dir, name))));
    try {
      await rmdir(dir);
      return true;
    } catch (error) {
      if (isMissing(error)) return false;
      if (errorCode(error) !== 'ENOTEMPTY' && errorCode(error) !== 'EEXIST') throw error;
    }
  }
}
