import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BackendUnavailableError } from '@savepoint/core';
import { linkOnce } from './atomic-write.js';
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
  nonce: string;
  /** Written by the previous release, one file per holding; now a holding starts at its file's ctime (see `claim`). */
  createdAt?: number;
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

/** This process's stage on one run lock, kept from one holding to the next. */
interface OwnStage {
  lockDir: string;
  stage: Stage;
  nonce: string;
  /** Where the generation file of this stage's last holding is (`<gen>.free` once released), or null. */
  genFile: string | null;
}

interface Holding {
  genPath: string;
  own: OwnStage;
  recovered: boolean;
}

const GEN_WIDTH = 16;
const GEN_NAME = /^(\d{16})(\.free)?$/;
const STAGE_NAME = /^stage-(\d+)-([0-9a-f]+)$/;
const RELEASED = '.free';
// A holding broken while it worked is redone with fresh checks; a process stalled that often gives up.
const MAX_ATTEMPTS = 3;
// Idle stages kept per `RunLock` (one per run lock recently used); the least recently used beyond go.
const MAX_IDLE_STAGES = 64;

/**
 * Nonces of this process's stages: a generation with our pid and another nonce is abandoned. Shared through
 * `globalThis` so that two copies of this module in one process (the ESM and the CommonJS build) never take each
 * other's holdings for abandoned ones.
 */
const activeNonces: Set<string> = ((globalThis as Record<symbol, Set<string> | undefined>)[Symbol.for('@savepoint/backend-file:lock-nonces')] ??=
  new Set<string>());

/**
 * Serializes work on one run: an async mutex for callers in this process, then a lock directory shared by
 * processes on the host, `runs/<runId>/lock/`, holding numbered generations:
 * - `<gen>` (content: pid, nonce) is created for the generation after the highest one present, only when that
 *   one is released (`<gen>.free`) or stale (its pid is dead, or it is older than `staleMs`). Creation is
 *   exclusive (`link` to the file of this process's previous holding, which allocates no inode, else
 *   `open(..., 'wx')`), so it picks one winner; numbers only grow, so a process whose view is old and that wins a
 *   number below the top (or one already released) sees it on its second listing and backs off.
 * - `stage-<pid>-<nonce>/` is the holder's stage (see lock-stage.ts): every change to the run is published out of
 *   it. A new holder destroys the stages of every older generation not released, and only then reads the run,
 *   which is what fences a holder that stalled past `staleMs`. A process keeps its stage (empty) between its
 *   holdings of a lock, so taking the lock again creates nothing; a stage that was destroyed is never used again.
 * `work` learns whether the previous holder was broken (it may have left a half-finished change to repair).
 * When the holding is broken while `work` runs, `work` is run again under a new holding: its checks then
 * see what the new owner did and fail with the right typed error.
 */
export class RunLock {
  private readonly tails = new Map<string, Promise<void>>();
  /** This process's stage per lock directory, least recently used first. */
  private readonly stages = new Map<string, OwnStage>();

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
          return await work(holding.own.stage, holding.recovered);
        } catch (error) {
          if (stageIntact(holding.own.stage)) throw error;
          if (attempt >= MAX_ATTEMPTS) {
            throw new BackendUnavailableError(
              `Another process broke this process's run lock ${lockDir} ${attempt} times, judging it stalled. ` +
                'Raise lockStaleMs above the longest pause this process can have.',
              { cause: error },
            );
          }
        } finally {
          this.release(holding);
        }
      }
    } finally {
      releaseLocal();
      if (this.tails.get(lockDir) === tail) this.tails.delete(lockDir);
      this.dropIdle(MAX_IDLE_STAGES);
    }
  }

  /** Removes the stages this process keeps between holdings. */
  close(): void {
    this.dropIdle(0);
  }

  private async acquire(lockDir: string): Promise<Holding> {
    const own = this.ownStage(lockDir);
    const deadline = Date.now() + this.options.timeoutMs;
    for (let backoffMs = 1; ; backoffMs = Math.min(backoffMs * 2, 20)) {
      const view = readView(lockDir);
      const recovered = view.top > 0 && !view.topReleased;
      const seen = recovered ? readGen(lockDir, view.top) : undefined;
      if (recovered && seen === undefined) continue; // released meanwhile: list again
      if (!recovered || this.isStale(seen!)) {
        const gen = view.top + 1;
        const genPath = join(lockDir, genName(gen));
        if (claim(own, genPath)) {
          const after = readView(lockDir);
          if (after.top === gen && !after.topReleased) {
            own.genFile = genPath;
            retireOlder(lockDir, after, own.stage);
            return { genPath, own, recovered };
          }
          unlinkIfExists(genPath); // won a number from an outdated view: not the lock
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
  }

  /** The stage this process holds `lockDir` with: the one kept from its last holding, or a new one. */
  private ownStage(lockDir: string): OwnStage {
    const kept = this.stages.get(lockDir);
    if (kept !== undefined) {
      this.stages.delete(lockDir);
      if (stageIntact(kept.stage)) {
        this.stages.set(lockDir, kept);
        return kept;
      }
      this.drop(kept);
    }
    const nonce = randomBytes(6).toString('hex');
    const own: OwnStage = { lockDir, stage: new Stage(join(lockDir, `stage-${process.pid}-${nonce}`)), nonce, genFile: null };
    mkdirSync(own.stage.dir, { recursive: true });
    activeNonces.add(nonce);
    this.stages.set(lockDir, own);
    return own;
  }

  /**
   * Ends a holding: what was staged and not published goes, then the generation is marked released; the stage
   * stays for the next holding (which checks it was not destroyed meanwhile). Best effort: a stage whose release
   * fails is dropped, so its nonce is no longer active and a generation it left is broken at once by this process,
   * and by others once stale.
   */
  private release({ genPath, own }: Holding): void {
    try {
      own.stage.clear();
      renameSync(genPath, genPath + RELEASED);
      own.genFile = genPath + RELEASED;
    } catch {
      this.drop(own);
    }
  }

  private drop(own: OwnStage): void {
    if (this.stages.get(own.lockDir) === own) this.stages.delete(own.lockDir);
    try {
      destroyStage(own.stage.dir);
    } catch {
      // a stage left behind is destroyed by the next holder once this process is gone
    }
    activeNonces.delete(own.nonce);
  }

  /** Drops the least recently used stages not in use until at most `keep` remain. */
  private dropIdle(keep: number): void {
    for (const own of [...this.stages.values()]) {
      if (this.stages.size <= keep) return;
      if (!this.tails.has(own.lockDir)) this.drop(own);
    }
  }

  private isStale({ content, ctimeMs }: { content: LockContent | null; ctimeMs: number }): boolean {
    if (Date.now() - (content?.createdAt ?? ctimeMs) > this.options.staleMs) return true;
    // A generation file still being written has no content yet: only age can condemn it.
    if (content === null) return false;
    return content.pid === process.pid ? !activeNonces.has(content.nonce) : !isAlive(content.pid);
  }
}

/**
 * Exclusive creation of the generation file `genPath` for this stage; false when another process created it first.
 * The file of the stage's last holding is linked there when it still exists (a link allocates no inode, and it
 * sets the file's ctime, which is when the holding started); else a new file is created.
 */
function claim(own: OwnStage, genPath: string): boolean {
  if (own.genFile !== null) {
    try {
      return linkOnce(own.genFile, genPath);
    } catch (error) {
      if (!isMissing(error)) throw error; // the file was retired by a later holder: create one
    }
  }
  return createGen(genPath, { pid: process.pid, nonce: own.nonce });
}

function genName(gen: number): string {
  return String(gen).padStart(GEN_WIDTH, '0');
}

function readView(lockDir: string): LockView {
  const gens = new Map<number, boolean>();
  const stages: string[] = [];
  for (const name of readdirSync(lockDir)) {
    const match = GEN_NAME.exec(name);
    if (match) gens.set(Number(match[1]), (gens.get(Number(match[1])) ?? false) || match[2] !== undefined);
    else if (STAGE_NAME.test(name)) stages.push(name);
  }
  const top = Math.max(0, ...gens.keys());
  const lower = [...gens].filter(([gen]) => gen < top).map(([gen, released]) => ({ gen, released }));
  return { top, topReleased: gens.get(top) ?? false, lower, stages };
}

function readGen(lockDir: string, gen: number): { content: LockContent | null; ctimeMs: number } | undefined {
  const path = join(lockDir, genName(gen));
  try {
    const raw = readFileSync(path, 'utf8');
    return { content: parseLock(raw), ctimeMs: statSync(path).ctimeMs };
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
}

/** Exclusive creation of a generation; false when another process created it first. */
function createGen(path: string, content: LockContent): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx');
  } catch (error) {
    if (errorCode(error) === 'EEXIST') return false;
    throw error;
  }
  try {
    writeSync(fd, JSON.stringify(content));
  } catch (error) {
    closeSync(fd);
    unlinkIfExists(path);
    throw error;
  }
  closeSync(fd);
  return true;
}

/**
 * Run by a new holder before it reads anything: destroys the stage of every older generation not released
 * (their holders died or stalled), and stages left by dead processes that never won a generation, then drops
 * the older generation files.
 */
function retireOlder(lockDir: string, view: LockView, own: Stage): void {
  const doomed = new Set<string>();
  for (const { gen } of view.lower.filter((entry) => !entry.released)) {
    const content = readGen(lockDir, gen)?.content;
    if (content) doomed.add(`stage-${content.pid}-${content.nonce}`);
  }
  for (const name of view.stages) {
    const [, pid, nonce] = STAGE_NAME.exec(name)!;
    const abandoned = Number(pid) === process.pid ? !activeNonces.has(nonce!) : !isAlive(Number(pid));
    if (abandoned) doomed.add(name);
  }
  doomed.delete(own.dir.slice(lockDir.length + 1));
  for (const name of doomed) destroyStage(join(lockDir, name));
  for (const { gen, released } of view.lower) unlinkIfExists(join(lockDir, genName(gen) + (released ? RELEASED : '')));
}

/** Whether nobody broke the holding; a stage that cannot even be checked counts as intact, so the work's own error is reported. */
function stageIntact(stage: Stage): boolean {
  try {
    return stage.intact();
  } catch {
    return true;
  }
}

function parseLock(raw: string): LockContent | null {
  try {
    const value = JSON.parse(raw) as LockContent;
    const validTime = value.createdAt === undefined || typeof value.createdAt === 'number';
    return typeof value.pid === 'number' && typeof value.nonce === 'string' && validTime ? value : null;
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
