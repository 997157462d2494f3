import { randomBytes } from 'node:crypto';
import { readdirSync, renameSync, rmdirSync, statSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fsyncDir, syncFile, writeNewFile } from './atomic-write.js';
import { unlinkIfExists } from './fs-entries.js';
import { errorCode, isMissing } from './fs-errors.js';

/**
 * The private directory of a process's holdings of a run lock: the fence that makes a stalled writer harmless.
 *
 * Every change a lock holder makes to the run goes through its stage: new files (headers, the lease, event
 * segments) are written into the stage and published with one `rename` out of it; a header is deleted by
 * renaming it into the stage first. Whoever breaks a lock as stale destroys the holder's stage (empties it
 * and removes the directory) before it reads anything. The kernel orders a rename out of (or into) a
 * directory and the unlinks/rmdir of that directory's entries, so every change of the stalled holder either
 * happened before the break completed, and the breaker sees it, or fails with `ENOENT`: the check a holder
 * made under the lock and its publish can no longer be separated by another writer. A stage is never created
 * again under the same name, so a stalled holder cannot find its way into anyone else's. A process keeps its
 * stage, empty, from one of its holdings to the next (run-lock.ts): between them it publishes nothing.
 */
export class Stage {
  /** Files written into the stage and not published yet: `clear` removes them when the holding ends. */
  private readonly pending = new Set<string>();

  constructor(readonly dir: string) {}

  /** Writes `data` into a new staged file, fsynced when `durable`, and returns its path. */
  async write(data: string, durable: boolean): Promise<string> {
    const staged = this.newPath();
    this.pending.add(staged);
    await writeNewFile(staged, data, durable);
    return staged;
  }

  /** Makes the bytes of a file written with `write(data, false)` durable. */
  async sync(staged: string): Promise<void> {
    await syncFile(staged);
  }

  /**
   * Publishes a staged file at `path` (replacing what is there): the one step that fails once the holding is
   * broken. Synchronous (a thread-pool hop costs more than the rename); a promise, so that a test can hold a
   * writer right there (test/support/stall.ts), as a stalled process would be.
   */
  async publish(staged: string, path: string): Promise<void> {
    renameSync(staged, path);
    this.pending.delete(staged);
  }

  /** `write` + `publish`, then (when `durable`) an fsync of the directory that received it. */
  async writeFile(path: string, data: string, durable = true): Promise<void> {
    await this.publish(await this.write(data, durable), path);
    if (durable) fsyncDir(dirname(path));
  }

  /** Removes `path` by moving it into the stage first, so a broken holding removes nothing; false when it was missing. */
  remove(path: string): boolean {
    const staged = this.newPath();
    try {
      renameSync(path, staged);
    } catch (error) {
      if (isMissing(error) && this.intact()) return false;
      throw error;
    }
    unlinkSync(staged);
    return true;
  }

  /** Removes what was staged and never published (the holding ends), leaving the stage empty for the next one. */
  clear(): void {
    for (const staged of this.pending) unlinkIfExists(staged);
    this.pending.clear();
  }

  /** Whether the stage still exists, i.e. nobody broke this holding. */
  intact(): boolean {
    try {
      statSync(this.dir);
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
export function destroyStage(dir: string): boolean {
  for (;;) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch (error) {
      if (isMissing(error)) return false;
      throw error;
    }
    for (const name of names) unlinkIfExists(join(dir, name));
    try {
      rmdirSync(dir);
      return true;
    } catch (error) {
      if (isMissing(error)) return false;
      if (errorCode(error) !== 'ENOTEMPTY' && errorCode(error) !== 'EEXIST') throw error;
    }
  }
}
