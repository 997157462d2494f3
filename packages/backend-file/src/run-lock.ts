import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, readdir, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BackendUnavailableError } from '@savepoint/core';
import { errorCode, isMissing } from './fs-errors.js';
import { unlinkIfExists } from './fs-entries.js';
import { destroyStage, Stage } from './lock-stage.js';

export interface RunLockOptions {
  /** A lock held longer than this is considered abandoned even when its pid looks alive (a stalled process, pid reuse). */
  staleMs: number;
  /** How long to wait for a busy lock before giving up with `BackendUnavailableError`. */
  timeoutMs: number;
}

interface LockContent {
  pid: number;
  createdAt: number;
  nonce: string;
}

/** What a listing of the lock directory says. */
interface LockView {
  /** Highest generation present (0: none), held or released. */
  top: number;
  topReleased: boolean;
  /** Generations below `top`, with whether each was released. */
  lower: Array<{ gen: number; released: boolean }>;
  stages: string[];
}

interface Holding {
  genPath: string;
  nonce: string;
  stage: Stage;
  recovered: boolean;
}

const GEN_WIDTH = 16;
const GEN_NAME = /^(\d{16})(\.free)?$/;
const STAGE_NAME = /^stage-(\d+)-([0-9a-f]+)$/;
const RELEASED = '.free';
// A holding broken while it worked is redone with fresh checks; a process stalled that often gives up.
const MAX_ATTEMPTS = 3;

/**
 * Nonces of the holdings (and acquisitions in progress) of this process: a lock with our pid and another nonce
 * is abandoned. Shared through `globalThis` so that two copies of this module in one process (the ESM and the
 * CommonJS build) never take each other's holdings for abandoned ones.
 */
const activeNonces: Set<string> = ((globalThis as Record<symbol, Set<string> | undefined>)[Symbol.for('@savepoint/backend-file:lock-nonces')] ??=
  new Set<string>());

/**
 * Serializes work on one run: an async mutex for callers in this process, then a lock directory shared by
 * processes on the host, `runs/<runId>/lock/`, holding numbered generations:
 * - `<gen>` (content: pid, time, nonce) is created with `open(..., 'wx')` for the generation after the
 *   highest one present, only when that one is released (`<gen>.free`) or stale (its pid is dead, or it is
 *   older than `staleMs`). Exclusive creation picks one winner; numbers only grow, so a process whose view is
 *   old and that wins a number below the top (or one already released) sees it on its second listing and
 *   backs off.
 * - `stage-<pid>-<nonce>/`, created before its generation, is the holder's stage (see lock-stage.ts): every
 *   change to the run is published out of it. A new holder destroys the stages of every older generation not
 *   released, and only then reads the run, which is what fences a holder that stalled past `staleMs`.
 * `work` learns whether the previous holder was broken (it may have left a half-finished change to repair).
 * When the holding is broken while `work` runs, `work` is run again under a new holding: its checks then
 * see what the new owner did and fail with the right typed error.
 */
export class RunLock {
  private readonly tails = new Map<string, Promise<void>>();

  constructor(private readonly options: RunLockOptions) {}

  async run<T>(lockDir: string, work: (stage: Stage, recovered: boolean) => Promise<T>): Promise<T> {
    const previous = this.tails.get(lockDir) ?? Promise.resolve();
    let releaseLocal!: () => void;
    const tail = previous.then(() => new Promise<void>((resolve) => (releaseLocal = resolve)));
    this.tails.set(lockDir, tail);
    await previous;
    try {
      for (let attempt = 1; ; attempt += 1) {
        const holding = await this.acquire(lockDir);
        try {
          return await work(holding.stage, holding.recovered);
        } catch (error) {
          if (await holding.stage.intact().catch(() => true)) throw error;
          if (attempt >= MAX_ATTEMPTS) {
            throw new BackendUnavailableError(
              `Another process broke this process's run lock ${lockDir} ${attempt} times, judging it stalled. ` +
                'Raise lockStaleMs above the longest pause this process can have.',
              { cause: error },
            );
          }
        } finally {
          await release(holding);
        }
      }
    } finally {
      releaseLocal();
      if (this.tails.get(lockDir) === tail) this.tails.delete(lockDir);
    }
  }

  private async acquire(lockDir: string): Promise<Holding> {
    const nonce = randomBytes(6).toString('hex');
    const stage = new Stage(join(lockDir, `stage-${process.pid}-${nonce}`));
    activeNonces.add(nonce);
    try {
      await mkdir(stage.dir, { recursive: true });
      const deadline = Date.now() + this.options.timeoutMs;
      for (let backoffMs = 1; ; backoffMs = Math.min(backoffMs * 2, 20)) {
        const view = await readView(lockDir);
        const recovered = view.top > 0 && !view.topReleased;
        const seen = recovered ? await readGen(lockDir, view.top) : undefined;
        if (recovered && seen === undefined) continue; // released meanwhile: list again
        if (!recovered || this.isStale(seen!)) {
          const gen = view.top + 1;
          const genPath = join(lockDir, genName(gen));
          if (await createGen(genPath, { pid: process.pid, createdAt: Date.now(), nonce })) {
            const after = await readView(lockDir);
            if (after.top === gen && !after.topReleased) {
              await retireOlder(lockDir, after, stage);
              return { genPath, nonce, stage, recovered };
            }
            await unlinkIfExists(genPath); // won a number from an outdated view: not the lock
          }
          continue;
        }
        if (Date.now() > deadline) {
          throw new BackendUnavailableError(
            `Timed out after ${this.options.timeoutMs} ms waiting for the run lock ${lockDir}. ` +
              'If no process is using this checkpoint directory, delete that directory.',
          );
        }
        await sleep(backoffMs + Math.random() * backoffMs);
      }
    } catch (error) {
      await destroyStage(stage.dir).catch(() => undefined);
      activeNonces.delete(nonce);
      throw error;
    }
  }

  private isStale({ content, mtimeMs }: { content: LockContent | null; mtimeMs: number }): boolean {
    if (Date.now() - (content?.createdAt ?? mtimeMs) > this.options.staleMs) return true;
    // A generation file still being written has no content yet: only age can condemn it.
    if (content === null) return false;
    return content.pid === process.pid ? !activeNonces.has(content.nonce) : !isAlive(content.pid);
  }
}

function genName(gen: number): string {
  return String(gen).padStart(GEN_WIDTH, '0');
}

async function readView(lockDir: string): Promise<LockView> {
  const gens = new Map<number, boolean>();
  const stages: string[] = [];
  for (const name of await readdir(lockDir)) {
    const match = GEN_NAME.exec(name);
    if (match) gens.set(Number(match[1]), (gens.get(Number(match[1])) ?? false) || match[2] !== undefined);
    else if (STAGE_NAME.test(name)) stages.push(name);
  }
  const top = Math.max(0, ...gens.keys());
  const lower = [...gens].filter(([gen]) => gen < top).map(([gen, released]) => ({ gen, released }));
  return { top, topReleased: gens.get(top) ?? false, lower, stages };
}

async function readGen(lockDir: string, gen: number): Promise<{ content: LockContent | null; mtimeMs: number } | undefined> {
  const path = join(lockDir, genName(gen));
  try {
    const [raw, info] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
    return { content: parseLock(raw), mtimeMs: info.mtimeMs };
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
}

/** Exclusive creation of a generation; false when another process created it first. */
async function createGen(path: string, content: LockContent): Promise<boolean> {
  let handle;
  try {
    handle = await open(path, 'wx');
  } catch (error) {
    if (errorCode(error) === 'EEXIST') return false;
    throw error;
  }
  try {
    await handle.writeFile(JSON.stringify(content));
  } catch (error) {
    await handle.close().catch(() => undefined);
    await unlinkIfExists(path);
    throw error;
  }
  await handle.close();
  return true;
}

/**
 * Run by a new holder before it reads anything: destroys the stage of every older generation not released
 * (their holders died or stalled), and stages left by dead processes that never won a generation, then drops
 * the older generation files.
 */
async function retireOlder(lockDir: string, view: LockView, own: Stage): Promise<void> {
  const doomed = new Set<string>();
  for (const { gen } of view.lower.filter((entry) => !entry.released)) {
    const content = (await readGen(lockDir, gen))?.content;
    if (content) doomed.add(`stage-${content.pid}-${content.nonce}`);
  }
  for (const name of view.stages) {
    const [, pid, nonce] = STAGE_NAME.exec(name)!;
    const abandoned = Number(pid) === process.pid ? !activeNonces.has(nonce!) : !isAlive(Number(pid));
    if (abandoned) doomed.add(name);
  }
  doomed.delete(own.dir.slice(lockDir.length + 1));
  await Promise.all([...doomed].map((name) => destroyStage(join(lockDir, name))));
  await Promise.all(view.lower.map(({ gen, released }) => unlinkIfExists(join(lockDir, genName(gen) + (released ? RELEASED : '')))));
}

/**
 * Ends a holding: its stage goes first (nothing can be published after that), then the generation is marked
 * released. A holding broken meanwhile leaves its generation alone. Best effort: a release that fails leaves
 * a generation whose nonce is no longer active, which this process breaks at once and others once stale.
 */
async function release(holding: Holding): Promise<void> {
  try {
    if (await destroyStage(holding.stage.dir)) await rename(holding.genPath, holding.genPath + RELEASED);
  } catch {
    // see above
  } finally {
    activeNonces.delete(holding.nonce);
  }
}

function parseLock(raw: string): LockContent | null {
  try {
    const value = JSON.parse(raw) as LockContent;
    return typeof value.pid === 'number' && typeof value.createdAt === 'number' && typeof value.nonce === 'string' ? value : null;
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
