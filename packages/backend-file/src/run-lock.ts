import { randomBytes } from 'node:crypto';
import { open, readFile, rename, stat, unlink, link } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { BackendUnavailableError } from '@savepoint/core';
import { errorCode, isMissing } from './fs-errors.js';
import { removeQuietly } from './atomic-write.js';

export interface RunLockOptions {
  /** A lock held longer than this is considered abandoned even when its pid looks alive (pid reuse). */
  staleMs: number;
  /** How long to wait for a busy lock before giving up with `BackendUnavailableError`. */
  timeoutMs: number;
}

interface LockContent {
  pid: number;
  createdAt: number;
  nonce: string;
}

/**
 * Serializes work on one run: an async mutex for callers in this process, then a lock file created
 * with `open(..., 'wx')` for other processes on the host. The callback learns whether it broke the
 * lock of a holder that died, because that holder may have left a half-finished commit to repair.
 */
export class RunLock {
  private readonly tails = new Map<string, Promise<void>>();

  constructor(private readonly options: RunLockOptions) {}

  async run<T>(lockPath: string, work: (recovered: boolean) => Promise<T>): Promise<T> {
    const previous = this.tails.get(lockPath) ?? Promise.resolve();
    let releaseLocal!: () => void;
    const tail = previous.then(() => new Promise<void>((resolve) => (releaseLocal = resolve)));
    this.tails.set(lockPath, tail);
    await previous;
    try {
      const { recovered, nonce } = await this.acquireFile(lockPath);
      try {
        return await work(recovered);
      } finally {
        await releaseFile(lockPath, nonce);
      }
    } finally {
      releaseLocal();
      if (this.tails.get(lockPath) === tail) this.tails.delete(lockPath);
    }
  }

  private async acquireFile(lockPath: string): Promise<{ recovered: boolean; nonce: string }> {
    const content: LockContent = { pid: process.pid, createdAt: Date.now(), nonce: randomBytes(8).toString('hex') };
    const deadline = Date.now() + this.options.timeoutMs;
    let recovered = false;
    let backoffMs = 1;
    for (;;) {
      try {
        const handle = await open(lockPath, 'wx');
        try {
          await handle.writeFile(JSON.stringify({ ...content, createdAt: Date.now() }));
        } finally {
          await handle.close();
        }
        return { recovered, nonce: content.nonce };
      } catch (error) {
        if (errorCode(error) !== 'EEXIST') throw error;
      }
      if (await this.breakIfStale(lockPath)) {
        recovered = true;
        continue;
      }
      if (Date.now() > deadline) {
        throw new BackendUnavailableError(
          `Timed out after ${this.options.timeoutMs} ms waiting for the run lock ${lockPath}. ` +
            'If no process is using this checkpoint directory, delete that file.',
        );
      }
      await sleep(backoffMs + Math.random() * backoffMs);
      backoffMs = Math.min(backoffMs * 2, 20);
    }
  }

  /** Removes the lock when its holder is dead or it is too old; returns true when it did. */
  private async breakIfStale(lockPath: string): Promise<boolean> {
    const seen = await readLock(lockPath);
    if (seen === undefined) return false; // released meanwhile: just retry
    if (!this.isStale(seen.content, seen.mtimeMs)) return false;
    // Rename first so only one breaker wins; then make sure we moved the lock we judged stale and
    // not a fresh one created in between, which goes back in place.
    const aside = `${lockPath}.${randomBytes(6).toString('hex')}.stale`;
    try {
      await rename(lockPath, aside);
    } catch (error) {
      if (isMissing(error)) return false;
      throw error;
    }
    const moved = await readLock(aside);
    if (moved !== undefined && moved.raw !== seen.raw) {
      await link(aside, lockPath).catch(() => undefined);
      await removeQuietly(aside);
      return false;
    }
    await removeQuietly(aside);
    return true;
  }

  private isStale(content: LockContent | null, mtimeMs: number): boolean {
    const createdAt = content?.createdAt ?? mtimeMs;
    if (Date.now() - createdAt > this.options.staleMs) return true;
    // A lock file still being written has no content yet: only age can condemn it.
    return content !== null && content.pid !== process.pid && !isAlive(content.pid);
  }
}

async function readLock(path: string): Promise<{ raw: string; content: LockContent | null; mtimeMs: number } | undefined> {
  try {
    const [raw, info] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
    return { raw, content: parseLock(raw), mtimeMs: info.mtimeMs };
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
}

function parseLock(raw: string): LockContent | null {
  try {
    const value = JSON.parse(raw) as LockContent;
    return typeof value.pid === 'number' && typeof value.createdAt === 'number' ? value : null;
  } catch {
    return null;
  }
}

/** Whether a process with this pid exists (null: unknown, treated as dead). */
export function isAlive(pid: number | null): boolean {
  if (pid === null) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errorCode(error) === 'EPERM';
  }
}

/** Unlinks the lock only if it is still ours: a holder judged stale must not remove its successor's lock. */
async function releaseFile(lockPath: string, nonce: string): Promise<void> {
  const current = await readLock(lockPath);
  if (current?.content?.nonce !== nonce) return;
  await unlink(lockPath).catch((error: unknown) => {
    if (!isMissing(error)) throw error;
  });
}
