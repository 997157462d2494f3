import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** A pid no process has (above the kernel's pid_max). */
export const DEAD_PID = 2 ** 22 + 54321;

/**
 * Plants what a holder of the run lock leaves on disk (see src/run-lock.ts): generation `gen` held by `pid`,
 * and its stage directory. Returns the stage directory, where a holder puts the files it is about to publish.
 */
export async function plantLock(runDir: string, { pid, createdAt = Date.now(), gen = 1 }: { pid: number; createdAt?: number; gen?: number }): Promise<string> {
  const lockDir = join(runDir, 'lock');
  const nonce = 'abcdef012345';
  const stage = join(lockDir, `stage-${pid}-${nonce}`);
  await mkdir(stage, { recursive: true });
  await writeFile(join(lockDir, String(gen).padStart(16, '0')), JSON.stringify({ pid, createdAt, nonce }));
  return stage;
}
